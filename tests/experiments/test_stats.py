"""The verdict rule and its intervals, against scipy and hand-made samples."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from experiments import spec, stats


def test_t_interval_matches_scipys_paired_t_test():
    rng = np.random.default_rng(3)
    a = rng.normal(0.9, 0.01, 6)
    b = a - 0.004 + rng.normal(0, 0.003, 6)
    low, high = stats.paired_t_interval(a - b)
    reference = scipy_stats.ttest_rel(a, b).confidence_interval(0.95)
    assert low == pytest.approx(reference.low, abs=1e-12)
    assert high == pytest.approx(reference.high, abs=1e-12)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(0).normal(0.01, 0.02, 8)
    first, second = stats.bootstrap_interval(values), stats.bootstrap_interval(values)
    assert first == second  # fixed RNG: a page re-renders identically
    assert first[0] < values.mean() < first[1]
    # The percentile bootstrap of the mean, written out with its own loop.
    rng = np.random.default_rng(stats.BOOTSTRAP_SEED)
    draws = rng.integers(0, len(values), (stats.BOOTSTRAP_RESAMPLES, len(values)))
    means = np.array([values[row].mean() for row in draws])
    assert first == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])), abs=1e-12)
    assert all(math.isnan(v) for v in stats.bootstrap_interval([0.1]))


def test_rule_is_inconclusive_on_overlapping_samples_and_decides_separated_ones():
    rng = np.random.default_rng(7)
    # Overlapping: two cells whose paired differences scatter on both sides of zero.
    a = rng.normal(0.95, 0.01, 5)
    overlapping = a - (a + rng.normal(0.0, 0.01, 5))
    judged = stats.judge_difference(overlapping, +1)
    assert judged["t_low"] < 0 < judged["t_high"] and judged["outcome"] == "inconclusive"
    assert stats.judge_difference(overlapping, -1)["outcome"] == "inconclusive"
    # Clearly separated: every paired difference near +0.05.
    separated = 0.05 + rng.normal(0.0, 0.002, 5)
    assert stats.judge_difference(separated, +1)["outcome"] == "holds"
    assert stats.judge_difference(separated, -1)["outcome"] == "contradicted"
    assert stats.judge_difference(-separated, +1)["outcome"] == "contradicted"
    assert stats.judge_difference(-separated, -1)["outcome"] == "holds"
    # One seed: no interval, never a verdict either way.
    assert stats.judge_difference([0.5], +1)["outcome"] == "inconclusive"


def test_means_apart_but_within_seed_noise_is_inconclusive():
    """A mean difference of +0.2 points with a seed-to-seed spread of 0.5 points (what the
    old mean-only verdict called "holds") stays inconclusive at 3 seeds."""
    judged = stats.judge_difference([0.002, -0.003, 0.007], +1)
    assert judged["mean"] > 0 and judged["outcome"] == "inconclusive"


def test_overall_is_a_conjunction():
    assert stats.overall(["holds", "holds"]) == "holds"
    assert stats.overall(["holds", "inconclusive"]) == "inconclusive"
    assert stats.overall(["holds", "contradicted", "inconclusive"]) == "contradicted"
    assert stats.overall([]) == "inconclusive"


def test_paired_aligns_values_by_seed():
    results = {"a": {"m": spec.SeedValues([0.90, 0.91, 0.92], seeds=[0, 1, 2])},
               "b": {"m": spec.SeedValues([0.80, float("nan"), 0.85], seeds=[1, 2, 3])}}
    difference = spec.paired(results, "a - b", [(1, "a", "m"), (-1, "b", "m")])
    assert difference.seeds == (1,)  # seed 2 of b diverged, seeds 0 and 3 are unpaired
    assert difference.values == pytest.approx((0.11,))
    one_sample = spec.paired(results, "a - 0.5", [(1, "a", "m")], constant=-0.5)
    assert one_sample.values == pytest.approx((0.40, 0.41, 0.42))
    with pytest.raises(spec.Incomplete):
        spec.paired(results, "a - c", [(1, "a", "m"), (-1, "c", "m")])


def test_verdict_reason_shows_accuracies_in_points_and_other_units_as_they_are():
    results = {"a": {"acc": [0.90, 0.91, 0.92], "rank": [100.0, 101.0, 103.0]},
               "b": {"acc": [0.80, 0.80, 0.81], "rank": [90.0, 90.0, 91.0]}}
    accuracy = spec.paired(results, "acc a - b", [(1, "a", "acc"), (-1, "b", "acc")])
    rank = spec.paired(results, "rank a - b", [(1, "a", "rank"), (-1, "b", "rank")],
                       percent=False)
    _, reason, _ = spec.verdict_from([accuracy])
    assert spec.POINTS in reason and "acc a - b: +10.67 [" in reason
    _, reason, _ = spec.verdict_from([rank])
    assert spec.POINTS not in reason and "rank a - b: +11.00 [" in reason
