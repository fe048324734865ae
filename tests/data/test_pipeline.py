"""The grain loaders: the train loader's resumable state, seeded order and disjoint
per-process shards; the eval loader's order, padding and per-process shares."""

import json

import numpy as np
import pytest

from contrastive_jax.data.pipeline import (
    iterator_state, local_batch_size, make_eval_loader, make_train_loader, restore_iterator)
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


def _eval_labels(source, batch_size, process_index=0, process_count=1):
    loader = make_eval_loader(source, batch_size=batch_size, process_index=process_index,
                              process_count=process_count)
    return [(batch["label"].tolist(), valid) for batch, valid in loader]


def test_eval_loader_reads_the_split_in_order_and_pads_the_last_batch():
    batches = _eval_labels(_indexed_source(10), 4)
    # every record once, in order; the padding repeats the split's last record
    assert batches == [([0, 1, 2, 3], 4), ([4, 5, 6, 7], 4), ([8, 9, 9, 9], 2)]
    assert _eval_labels(_indexed_source(8), 4) == [([0, 1, 2, 3], 4), ([4, 5, 6, 7], 4)]
    images = next(iter(make_eval_loader(_indexed_source(10), batch_size=4, process_index=0,
                                        process_count=1)))[0]["image"]
    assert images.shape == (4, 2, 2, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:, 0, 0, 0], [0, 1, 2, 3])


def test_eval_loader_gives_each_process_its_share_of_every_global_batch():
    source = _indexed_source(10)
    shares = [_eval_labels(source, 8, process_index=p, process_count=2) for p in (0, 1)]
    # global batches [0..7] and [8, 9, pad x 6]: process p reads rows [4p, 4p + 4) of each
    assert shares[0] == [([0, 1, 2, 3], 8), ([8, 9, 9, 9], 2)]
    assert shares[1] == [([4, 5, 6, 7], 8), ([9, 9, 9, 9], 2)]
    with pytest.raises(ValueError, match="multiple of 3"):
        make_eval_loader(source, batch_size=8, process_index=0, process_count=3)


def test_eval_loader_applies_the_transform_to_every_record_before_stacking():
    def transform(record):
        return {"image": np.repeat(record["image"], 3, axis=-1), "label": record["label"] + 100}

    loader = make_eval_loader(_indexed_source(5), batch_size=4, transform=transform,
                              process_index=0, process_count=1)
    (first, _), (last, valid) = list(loader)
    assert first["image"].shape == (4, 2, 2, 3) and valid == 1
    assert last["label"].tolist() == [104] * 4


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


def test_train_batches_carry_each_records_index_in_the_source():
    """``index`` (int32) is the record's position in the source (here equal to its label), on
    every process's share and across an epoch boundary."""
    source = _indexed_source(20)
    for process in range(2):
        iterator = iter(make_train_loader(source, global_batch_size=8, seed=1,
                                          process_index=process, process_count=2))
        for _ in range(4):  # 32 rows: past the end of the 20-record epoch
            batch = next(iterator)
            assert batch["index"].dtype == np.int32 and batch["index"].shape == (4,)
            np.testing.assert_array_equal(batch["index"], batch["label"])
