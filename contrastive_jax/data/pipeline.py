"""The grain input pipeline: seeded shuffle, repeat, and per-process batches of the global batch.

Each process reads a disjoint shard of the source (``jax.process_index()`` of
``jax.process_count()``) and batches ``global_batch_size // process_count`` examples; the train
loop turns the host-local batches into one global array. The iterator's state (a small JSON
blob) goes into every checkpoint, so a resumed run sees exactly the batches an uninterrupted one
would have seen.
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
                      process_index: int | None = None,
                      process_count: int | None = None) -> grain.DataLoader:
    """An endless, seeded, shuffled loader of this process's share of each global batch.

    Yields ``{"image": uint8 [b, H, W, C], "label": int32 [b], ...}`` with
    ``b = global_batch_size / process_count``.
    """
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    batch = local_batch_size(global_batch_size, process_count)
    shard_size = len(source) // process_count
    if shard_size < batch:
        raise ValueError(
            f"The training split has {len(source)} examples ({shard_size} per process), fewer "
            f"than one batch of {batch} per process: lower batch_size or use a larger dataset."
        )
    sampler = grain.IndexSampler(
        num_records=len(source),
        shard_options=grain.ShardOptions(
            shard_index=process_index, shard_count=process_count, drop_remainder=True),
        shuffle=True,
        num_epochs=None,
        seed=seed,
    )
    return grain.DataLoader(
        data_source=source,
        sampler=sampler,
        operations=[grain.Batch(batch_size=batch, drop_remainder=True)],
        worker_count=0,
    )


def iterator_state(iterator) -> dict:
    """The loader iterator's position as a JSON-serializable dict (for the checkpoint)."""
    return json.loads(iterator.get_state().decode())


def restore_iterator(iterator, state: dict) -> None:
    """Move ``iterator`` to the position saved by ``iterator_state``."""
    iterator.set_state(json.dumps(state).encode())


def eval_batches(arrays: dict[str, np.ndarray], batch_size: int):
    """Sequential batches of a dict of equal-length arrays, the last one padded.

    Yields ``(batch, num_valid)``: padding rows repeat row 0 and must be dropped by the caller,
    so every batch has the same shape and compiles once.
    """
    n = len(next(iter(arrays.values())))
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        batch = {k: v[start:stop] for k, v in arrays.items()}
        valid = stop - start
        if valid < batch_size:
            pad = batch_size - valid
            batch = {k: np.concatenate([v, np.repeat(v[:1], pad, axis=0)]) for k, v in batch.items()}
        yield batch, valid
