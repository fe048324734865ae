"""The grain train loader: resumable state, seeded order, disjoint per-process shards."""

import json

import numpy as np
import pytest

from contrastive_jax.data.pipeline import (
    eval_batches, iterator_state, local_batch_size, make_train_loader, restore_iterator)
from contrastive_jax.data.sources import ArraySource, SourceInfo

NUM_RECORDS = 64


def _indexed_source(n=NUM_RECORDS):
    """Records whose label is their own index, so batches show which records were read."""
    info = SourceInfo("indexed", (2, 2, 1), n)
    images = (np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8))
    return ArraySource(images, np.arange(n), info)


def _loader(seed=0, process_index=0, process_count=1, batch=8):
    return make_train_loader(_indexed_source(), global_batch_size=batch, seed=seed,
                             process_index=process_index, process_count=process_count)


def _labels(iterator, steps):
    return [next(iterator)["label"].copy() for _ in range(steps)]


def test_restored_iterator_continues_exactly():
    uninterrupted = iter(_loader())
    expected = _labels(uninterrupted, 15)

    interrupted = iter(_loader())
    first = _labels(interrupted, 10)
    state = json.loads(json.dumps(iterator_state(interrupted)))  # as a checkpoint stores it
    resumed = iter(_loader())
    restore_iterator(resumed, state)
    rest = _labels(resumed, 5)

    for got, want in zip(first + rest, expected):
        np.testing.assert_array_equal(got, want)


def test_batches_are_shuffled_epochs_and_seeds_change_the_order():
    epoch = np.concatenate(_labels(iter(_loader(seed=0)), NUM_RECORDS // 8))
    assert sorted(epoch.tolist()) == list(range(NUM_RECORDS))    # each record once per epoch
    assert not np.array_equal(epoch, np.arange(NUM_RECORDS))     # in a shuffled order
    other = np.concatenate(_labels(iter(_loader(seed=1)), NUM_RECORDS // 8))
    assert not np.array_equal(epoch, other)
    again = np.concatenate(_labels(iter(_loader(seed=0)), NUM_RECORDS // 8))
    np.testing.assert_array_equal(epoch, again)


def test_process_shards_are_disjoint_and_cover_the_data():
    per_process = []
    for index in range(2):
        iterator = iter(_loader(process_index=index, process_count=2, batch=8))
        batches = _labels(iterator, NUM_RECORDS // 8)   # one epoch of this shard: 8 batches of 4
        assert all(b.shape == (4,) for b in batches)
        per_process.append(set(np.concatenate(batches).tolist()))
    assert not per_process[0] & per_process[1]
    assert per_process[0] | per_process[1] == set(range(NUM_RECORDS))


def test_batch_size_must_divide_over_processes():
    assert local_batch_size(12, 4) == 3
    with pytest.raises(ValueError, match="multiple of 5"):
        local_batch_size(12, 5)
    with pytest.raises(ValueError, match="fewer than one batch"):
        _loader(batch=128)


def test_eval_batches_pad_the_last_batch():
    arrays = {"label": np.arange(10), "image": np.zeros((10, 2, 2, 1), np.uint8)}
    batches = list(eval_batches(arrays, 4))
    assert [valid for _, valid in batches] == [4, 4, 2]
    assert all(batch["label"].shape == (4,) for batch, _ in batches)
    # padding repeats the batch's first row; the caller drops everything after num_valid
    np.testing.assert_array_equal(batches[-1][0]["label"], [8, 9, 8, 8])


def test_two_processes_together_feed_the_one_process_batches():
    source = _indexed_source(100)
    single = iter(make_train_loader(source, global_batch_size=64, seed=3, process_index=0,
                                    process_count=1))
    halves = [iter(make_train_loader(source, global_batch_size=64, seed=3, process_index=p,
                                     process_count=2)) for p in (0, 1)]
    for _ in range(5):  # past an epoch boundary: 100 examples / 64 per batch
        whole = next(single)
        parts = [next(h) for h in halves]
        for key in ("image", "label"):
            assert parts[0][key].shape[0] == 32
            np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key])
