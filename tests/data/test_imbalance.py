"""Long-tailed training sets (``dataset.imbalance``) and the per-class / head / tail scores."""

import numpy as np
import pytest

from configs import simclr
from contrastive_jax.data import build_source
from contrastive_jax.data.imbalance import LongTailedSource, exponential_counts, long_tailed
from contrastive_jax.evaluate.per_class import (
    head_tail_classes, per_class_accuracy, per_class_scores)
from contrastive_jax.train import build
from contrastive_jax.train.workdir import config_differences


def test_exponential_counts_follow_the_closed_form():
    counts = exponential_counts(400, 10, 10.0)
    assert counts[0] == 400 and counts[-1] == 40
    expected = [int(np.floor(400 * 10.0 ** (-c / 9) + 1e-9)) for c in range(10)]
    assert counts.tolist() == expected
    assert np.all(np.diff(counts) <= 0)
    assert exponential_counts(50, 5, 100.0).tolist() == [50, 15, 5, 1, 1]  # floor, at least 1
    assert exponential_counts(7, 3, 1.0).tolist() == [7, 7, 7]
    with pytest.raises(ValueError, match=">= 1"):
        exponential_counts(10, 3, 0.5)


def test_long_tailed_source_keeps_a_seeded_subset_with_the_profile():
    base = build_source("digits", "train")
    available = np.bincount(base.labels, minlength=10)
    source = LongTailedSource(base, ratio=10.0, seed=3)
    counts = np.bincount([source[i]["label"] for i in range(len(source))], minlength=10)
    assert counts.tolist() == source.class_counts.tolist()
    assert counts.tolist() == exponential_counts(available.min(), 10, 10.0).tolist()
    assert len(source) == counts.sum() and source.info == base.info
    # Records are the base's own records, each at most once.
    assert len(set(source.indices.tolist())) == len(source)
    np.testing.assert_array_equal(source[5]["image"], base[int(source.indices[5])]["image"])
    np.testing.assert_array_equal(source.as_arrays()["label"], source.labels)
    again, other = LongTailedSource(base, ratio=10.0, seed=3), LongTailedSource(base, ratio=10.0,
                                                                                   seed=4)
    np.testing.assert_array_equal(source.indices, again.indices)
    assert not np.array_equal(source.indices, other.indices)
    assert long_tailed(base, ratio=1.0) is base


def test_build_parts_makes_only_the_training_set_long_tailed():
    config = simclr.get_config("scale=tiny,dataset=digits")
    config.dataset.imbalance = 10.0
    parts = build.build_parts(config)
    assert isinstance(parts.train_source, LongTailedSource)
    assert len(parts.probe_source) == 1437 and len(parts.test_source) == 360  # balanced
    counts = parts.train_source.class_counts
    assert counts[-1] == counts[0] // 10 and len(parts.train_source) == counts.sum()
    config.dataset.imbalance = 0.5
    with pytest.raises(ValueError, match="imbalance must be a ratio >= 1"):
        build.validate_config(config)
    # A run recorded before the key existed still resumes at the neutral value.
    saved = {"dataset": {"name": "digits"}}
    assert config_differences(saved, {"dataset": {"name": "digits", "imbalance": 1.0}}) == []
    assert config_differences(saved, {"dataset": {"name": "digits", "imbalance": 10.0}})


def test_per_class_head_and_tail_accuracy():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    predictions = np.array([0, 0, 1, 0, 2, 2, 0, 0, 4, 4, 5, 1])
    accuracy = per_class_accuracy(predictions, labels, 7)
    np.testing.assert_allclose(accuracy[:6], [1, 0.5, 1, 0, 1, 0.5])
    assert np.isnan(accuracy[6])  # no test example
    counts = [50, 5, 40, 1, 20, 10]  # head: classes 0, 2; tail: classes 3, 1
    head, tail = head_tail_classes(counts)
    assert head.tolist() == [0, 2] and tail.tolist() == [1, 3]
    scores = per_class_scores("probe", predictions, labels, num_classes=6, class_counts=counts)
    assert scores["probe_head"] == 1.0 and scores["probe_tail"] == 0.25
    assert scores["probe_class5"] == 0.5 and len(scores) == 8
