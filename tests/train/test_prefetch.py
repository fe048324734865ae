"""Device prefetch: same batches in the same order, and the data position of the consumed ones."""

import ml_collections
import numpy as np
import pytest

from contrastive_jax.data.pipeline import iterator_state, make_train_loader, restore_iterator
from contrastive_jax.train import mesh as mesh_lib
from contrastive_jax.train.prefetch import DevicePrefetch

SOURCE = [{"x": np.array([i], np.int32)} for i in range(40)]


def _loader():
    return make_train_loader(SOURCE, global_batch_size=8, seed=3, process_index=0,
                             process_count=1)


def _sharding():
    return mesh_lib.batch_sharding(mesh_lib.make_mesh(ml_collections.ConfigDict(dict(data=-1, fsdp=1))))


@pytest.mark.parametrize("size", [0, 2])
def test_prefetched_batches_and_consumed_state_match_a_plain_iterator(size):
    plain = iter(_loader())
    expected, states = [], [iterator_state(plain)]
    for _ in range(7):
        expected.append(next(plain)["x"])
        states.append(iterator_state(plain))

    host = iter(_loader())
    prefetch = DevicePrefetch(host, _sharding(), size=size)
    assert prefetch.consumed_state == states[0]
    for k in range(5):
        batch = next(prefetch)
        assert batch["x"].sharding == _sharding()
        np.testing.assert_array_equal(np.asarray(batch["x"]), expected[k])
        # The checkpoint position is after the batches handed out, not the prefetched ones.
        assert prefetch.consumed_state == states[k + 1]
        assert iterator_state(host) == states[k + 1 + size]  # ``size`` batches already queued


def test_resuming_from_the_consumed_state_continues_the_sequence():
    plain = iter(_loader())
    expected = [next(plain)["x"] for _ in range(6)]
    first = DevicePrefetch(iter(_loader()), _sharding(), size=2)
    for _ in range(3):
        next(first)
    resumed_iter = iter(_loader())
    restore_iterator(resumed_iter, first.consumed_state)
    resumed = DevicePrefetch(resumed_iter, _sharding(), size=2)
    for k in range(3, 6):
        np.testing.assert_array_equal(np.asarray(next(resumed)["x"]), expected[k])
