"""Batches put on the device ahead of the step that uses them, with the data position of each.

The host side of the input pipeline (grain) already reads and batches in background threads;
this moves the next ``size`` host batches onto the mesh (``mesh.global_batch``) while the
device still runs the step dispatched before, as big_vision's ``start_global`` +
``prefetch_iterator`` do. JAX dispatch is asynchronous, so no thread is needed: the transfer
of batch ``t + 1`` is queued while step ``t`` computes.

Because the prefetch runs ahead of the steps, the data iterator's own state is ``size``
batches ahead of the training. Every queued batch therefore carries the iterator state taken
right after it was read, and ``consumed_state`` is the state after the last batch handed to a
step: the position a checkpoint of that step must record, so a resumed run sees the batches
an uninterrupted one would.
"""

from __future__ import annotations

import collections

from contrastive_jax.data.pipeline import iterator_state
from contrastive_jax.train import mesh as mesh_lib


class DevicePrefetch:
    """``next()`` -> the next global batch, already on the device; ``size`` more are queued.

    host_iter: the loader's iterator (``get_state`` as in ``data.pipeline.iterator_state``),
    already moved to the resume position. sharding: the batch ``NamedSharding``.
    """

    def __init__(self, host_iter, sharding, *, size: int = 2):
        if size < 0:
            raise ValueError(f"prefetch size must be >= 0, got {size}.")
        self._iter = host_iter
        self._sharding = sharding
        self._size = size
        self._queue: collections.deque = collections.deque()
        self.consumed_state = iterator_state(host_iter)

    def _put_one(self) -> None:
        batch = mesh_lib.global_batch(next(self._iter), self._sharding)
        self._queue.append((batch, iterator_state(self._iter)))

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if not self._queue:
            self._put_one()
        batch, self.consumed_state = self._queue.popleft()
        while len(self._queue) < self._size:
            self._put_one()
        return batch
