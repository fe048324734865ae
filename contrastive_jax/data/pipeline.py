"""The grain input pipeline: seeded shuffle, repeat, and per-process batches of the global batch.

The sequence of global batches depends only on the seed; each process reads its own slice of
every global batch (``jax.process_index()`` of ``jax.process_count()``), and the train loop
turns the host-local slices into one global array. So the data a run sees does not change with
the number of hosts. The iterator's state (a small JSON
blob) goes into every checkpoint, so a resumed run sees exactly the batches an uninterrupted one
would have seen. ``make_eval_loader`` reads a split once, in order, in padded global batches of
one shape, for the evaluation (which keeps only the features).
"""

from __future__ import annotations

import json

import grain.python as grain
import jax
import numpy as np


def local_batch_size(global_batch_size: int, process_count: int | None = None) -> int:
    """The per-process share of ``global_batch_size``; raises if it does not divide evenly."""
    process_count = jax.process_count() if process_count is None else process_count
    if global_batch_size % process_count:
        raise ValueError(
            f"batch_size={global_batch_size} is not divisible by the process count "
            f"{process_count}; choose a multiple of {process_count}."
        )
    return global_batch_size // process_count


def make_train_loader(source, *, global_batch_size: int, seed: int,
                      process_index: int | None = None, process_count: int | None = None,
                      num_threads: int = 2) -> grain.IterDataset:
    """An endless, seeded, shuffled loader of this process's share of each global batch.

    The order of *global* batches depends only on ``seed``: the examples are reshuffled every
    epoch (grain ``shuffle`` + ``repeat``), cut into global batches of ``global_batch_size``
    indices, and process ``p`` of ``n`` reads rows ``[p*b, (p+1)*b)`` of each, ``b =
    global_batch_size / n``. So 2 processes together feed exactly the batches 1 process would,
    and each process touches only its own records.

    Yields ``{"image": uint8 [b, H, W, C], "label": int32 [b], ...}``. ``iter(loader)`` has
    ``get_state()`` / ``set_state()`` (see ``iterator_state`` / ``restore_iterator``).
    """
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    local = local_batch_size(global_batch_size, process_count)
    if len(source) < global_batch_size:
        raise ValueError(
            f"The training split has {len(source)} examples, fewer than one batch of "
            f"{global_batch_size}: lower batch_size or use a larger dataset.")
    first = process_index * local

    def read_local_share(global_indices: np.ndarray) -> dict[str, np.ndarray]:
        indices = np.asarray(global_indices[first:first + local])
        records = [source[int(i)] for i in indices]
        return {key: np.stack([r[key] for r in records]) for key in records[0]}

    dataset = (grain.MapDataset.range(len(source)).shuffle(seed=seed).repeat(None)
               .batch(global_batch_size, drop_remainder=True).map(read_local_share))
    return dataset.to_iter_dataset(grain.ReadOptions(num_threads=num_threads,
                                                     prefetch_buffer_size=2))


def iterator_state(iterator) -> dict:
    """The loader iterator's position as a JSON-serializable dict (for the checkpoint)."""
    state = iterator.get_state()
    return json.loads(state.decode()) if isinstance(state, bytes) else dict(state)


def restore_iterator(iterator, state: dict) -> None:
    """Move ``iterator`` to the position saved by ``iterator_state``."""
    iterator.set_state(state)


def make_eval_loader(source, *, batch_size: int, transform=None,
                     process_index: int | None = None, process_count: int | None = None,
                     num_threads: int = 2) -> grain.IterDataset:
    """One pass over ``source`` in order, in global batches of exactly ``batch_size`` rows.

    Global batch ``b`` holds records ``[b*batch_size, (b+1)*batch_size)``; the last one is
    padded with copies of the split's last record, so every batch has one shape and the
    embedding compiles once. Process ``p`` of ``n`` reads rows ``[p*s, (p+1)*s)`` of each
    global batch, ``s = batch_size / n`` (as ``make_train_loader`` does), so the processes'
    shares laid end to end are the global batch. ``transform(record) -> record`` runs on the
    host on every record before stacking (e.g. decode, resize and center crop); records are
    read by ``num_threads`` grain threads, so reading overlaps with the embedding.

    Yields ``(batch, num_valid)``: ``batch`` this process's ``{key: [s, ...]}``,
    ``num_valid`` the number of real rows of the *global* batch (its first ``num_valid``
    rows; the rest are padding to drop).
    """
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    local = local_batch_size(batch_size, process_count)
    num = len(source)
    if num == 0:
        raise ValueError("make_eval_loader: the split is empty; nothing to evaluate.")
    first = process_index * local

    def read(row: int) -> dict[str, np.ndarray]:
        batch_index, offset = divmod(row, local)
        record = source[min(batch_index * batch_size + first + offset, num - 1)]
        return transform(record) if transform is not None else record

    num_batches = -(-num // batch_size)
    dataset = (grain.MapDataset.range(num_batches * local).map(read).batch(local)
               .map_with_index(lambda index, batch: (batch, min(batch_size,
                                                                num - index * batch_size))))
    return dataset.to_iter_dataset(grain.ReadOptions(num_threads=num_threads,
                                                     prefetch_buffer_size=2))
