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
import os
import sys

import grain.python as grain
import jax
import numpy as np

from contrastive_jax.data import host_image
from contrastive_jax.data.host_image import DecodeError, HostCrop, crop_views


# Every train batch carries each record's position in the source (int32 [b]): methods with
# per-example state (SogCLR's estimators, iSogCLR's temperatures) index it with this.
INDEX_KEY = "index"


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
                      num_threads: int = 2, host_crop: HostCrop | None = None,
                      num_workers: int | None = None) -> grain.IterDataset:
    """An endless, seeded, shuffled loader of this process's share of each global batch.

    The order of *global* batches depends only on ``seed``: the examples are reshuffled every
    epoch (grain ``shuffle`` + ``repeat``), cut into global batches of ``global_batch_size``
    indices, and process ``p`` of ``n`` reads rows ``[p*b, (p+1)*b)`` of each, ``b =
    global_batch_size / n``. So 2 processes together feed exactly the batches 1 process would,
    and each process touches only its own records.

    Yields ``{"image": uint8 [b, H, W, C], "label": int32 [b], "index": int32 [b], ...}``,
    ``index`` each record's position in ``source`` (``INDEX_KEY``). ``iter(loader)`` has
    ``get_state()`` / ``set_state()`` (see ``iterator_state`` / ``restore_iterator``).

    ``host_crop`` (required for a ``variable_size`` source, else unused): every record is
    decoded and cut into ``host_crop.num_views`` random resized crops on the host, ``"image":
    uint8 [b, V, S, S, C]``, with a generator seeded by ``(seed, global position in the
    stream)``, so the crops too depend only on the seed and resume is bitwise. Records are
    read one by one on ``num_threads`` threads (PIL releases the GIL while decoding and
    resizing), then batched.
    """
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    local = local_batch_size(global_batch_size, process_count)
    if len(source) < global_batch_size:
        raise ValueError(
            f"The training split has {len(source)} examples, fewer than one batch of "
            f"{global_batch_size}: lower batch_size or use a larger dataset.")
    first = process_index * local
    if getattr(getattr(source, "info", None), "variable_size", False):
        if host_crop is None:
            raise ValueError(f"{source.info.name} has variable-size images: the train loader "
                             f"needs a host_crop (train.build.build_host_crop).")
        workers = default_workers() if num_workers is None else num_workers
        return _cropped_loader(source, host_crop, global_batch_size, local, first, seed,
                               num_threads, workers)

    def read_local_share(global_indices: np.ndarray) -> dict[str, np.ndarray]:
        indices = np.asarray(global_indices[first:first + local])
        records = [source[int(i)] for i in indices]
        batch = {key: np.stack([r[key] for r in records]) for key in records[0]}
        return {**batch, INDEX_KEY: indices.astype(np.int32)}

    dataset = (grain.MapDataset.range(len(source)).shuffle(seed=seed).repeat(None)
               .batch(global_batch_size, drop_remainder=True).map(read_local_share))
    return dataset.to_iter_dataset(grain.ReadOptions(num_threads=num_threads,
                                                     prefetch_buffer_size=2))


def default_workers() -> int:
    """Grain worker processes for host decoding and cropping: one per CPU (at most 16), none
    on a single CPU. Measured faster than threads here (benchmarks/README.md)."""
    count = os.cpu_count() or 1
    return 0 if count < 2 else min(count, 16)


def _cropped_loader(source, host_crop: HostCrop, global_batch_size: int, local: int,
                    first: int, seed: int, num_threads: int,
                    num_workers: int) -> grain.IterDataset:
    """This process's rows of each global batch, read and host-cropped; batch ``b``'s row ``r``
    is global stream position ``p = b * global_batch_size + first + r``.

    A whole local batch is one grain element, so the batches do not depend on how the work is
    spread: over ``num_threads`` threads, or over ``num_workers`` worker processes
    (``mp_prefetch``; worker ``w`` makes batches ``w, w + num_workers, ...``, read back in
    order).
    """
    stream = grain.MapDataset.range(len(source)).shuffle(seed=seed).repeat(None)

    lazy = getattr(source, "lazy_record", None)

    def read_and_crop(index: int, position: int) -> dict[str, np.ndarray]:
        if lazy is not None:
            try:
                record = lazy(index)
                image = crop_views(record["image"], host_crop,
                                   np.random.default_rng([seed, position]))
                return {**record, "image": image}
            except DecodeError:
                pass  # source[index] applies the source's bad-file policy
        record = source[index]
        return {**record, "image": crop_views(record["image"], host_crop,
                                              np.random.default_rng([seed, position]))}

    def read_local_batch(b: int) -> dict[str, np.ndarray]:
        records = []
        for r in range(local):
            position = b * global_batch_size + first + r
            index = int(stream[position])
            record = read_and_crop(index, position)
            records.append({**record, "label": np.asarray(record["label"], np.int32),
                            INDEX_KEY: np.int32(index)})
        return {key: np.stack([r[key] for r in records]) for key in records[0]}

    batches = grain.MapDataset.range(sys.maxsize // global_batch_size).map(read_local_batch)
    loader = batches.to_iter_dataset(grain.ReadOptions(
        num_threads=num_threads, prefetch_buffer_size=max(2, num_threads)))
    if num_workers > 0:
        _absl_flags_parsed()
        loader = loader.mp_prefetch(grain.MultiprocessingOptions(
            num_workers=num_workers, per_worker_buffer_size=2))
    return loader


def _absl_flags_parsed() -> None:
    """grain's worker processes read absl flags; outside an absl app (tests, notebooks) they
    were never parsed, so mark them parsed (defaults) first."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def example_record(source, host_crop: HostCrop | None = None) -> dict[str, np.ndarray]:
    """One record as the train step receives it (unbatched): ``source[0]``, cut into the host
    crops ``[V, S, S, C]`` when ``host_crop`` is given (a variable-size source), so model
    shapes can be planned from it."""
    record = source[0]
    if host_crop is None or not getattr(getattr(source, "info", None), "variable_size", False):
        return record
    return {**record, "image": crop_views(record["image"], host_crop, np.random.default_rng(0))}


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
    host on every record before stacking; by default, for a variable-size source
    (``info.variable_size``), ``host_image.eval_transform``: the shorter side resized to
    ``S / 0.875`` and the centre ``S x S`` crop; records are
    read by ``num_threads`` grain threads, so reading overlaps with the embedding.

    Yields ``(batch, num_valid)``: ``batch`` this process's ``{key: [s, ...]}``,
    ``num_valid`` the number of real rows of the *global* batch (its first ``num_valid``
    rows; the rest are padding to drop).
    """
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    info = getattr(source, "info", None)
    if transform is None and getattr(info, "variable_size", False):
        transform = host_image.eval_transform(info)  # resize + centre crop to info.image_shape
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
