"""Regression sources: rotated:<source> and tabular:<name> (data.regression)."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from contrastive_jax.data import Source, build_source
from contrastive_jax.data.regression import bin_targets, quantile_edges, rotate_images


def test_diabetes_split_standardised_and_targets_are_sklearns():
    train = build_source("tabular:diabetes", "train")
    test = build_source("tabular:diabetes", "test")
    assert isinstance(train, Source) and train.info.task == "regression"
    assert len(train) + len(test) == 442 and len(test) == 88
    features = train.as_arrays()["features"]
    np.testing.assert_allclose(features.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(features.std(0), 1, atol=1e-4)
    # every target is one of scikit-learn's, and the two splits partition them
    reference = np.sort(load_diabetes().target)
    both = np.sort(np.concatenate([train.targets, test.targets]))
    np.testing.assert_allclose(both, reference)
    record = train[3]
    assert record["target"].dtype == np.float32 and record["label"].dtype == np.int32
    assert record["features"].shape == (10,)
    # the split is fixed: the same in every run and for every model seed
    np.testing.assert_array_equal(build_source("tabular:diabetes", "test", seed=7).targets,
                                  test.targets)


def test_autompg_drops_the_empty_column():
    train = build_source("tabular:autompg", "train")
    assert train.info.image_shape == (7,) and np.isfinite(train.as_arrays()["features"]).all()
    assert len(train) + len(build_source("tabular:autompg", "test")) == 392


def test_train_fraction_is_seeded_and_test_whole():
    full = build_source("tabular:diabetes", "train")
    a = build_source("tabular:diabetes", "train", seed=1, train_fraction=0.2)
    b = build_source("tabular:diabetes", "train", seed=1, train_fraction=0.2)
    c = build_source("tabular:diabetes", "train", seed=2, train_fraction=0.2)
    assert len(a) == round(0.2 * len(full))
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.targets, c.targets)
    assert set(a.targets.tolist()) <= set(full.targets.tolist())
    assert len(build_source("tabular:diabetes", "test", train_fraction=0.2)) == 88
    with pytest.raises(ValueError, match="train_fraction must be in"):
        build_source("tabular:diabetes", "train", train_fraction=1.5)


def test_quantile_bins():
    targets = np.arange(100.0)
    edges = quantile_edges(targets, 4)
    bins = bin_targets(targets, edges)
    np.testing.assert_array_equal(np.bincount(bins), [25, 25, 25, 25])
    assert bins[0] == 0 and bins[-1] == 3


def test_rotation_direction_and_angle_target():
    image = np.zeros((1, 21, 21, 1), np.uint8)
    image[0, 10, 15, 0] = 255  # right of the centre
    rotated = rotate_images(image, np.array([90.0]))
    # counter-clockwise by 90 degrees: the pixel moves above the centre
    assert np.unravel_index(rotated[0, ..., 0].argmax(), (21, 21)) == (5, 10)
    train = build_source("rotated:mnist5k", "train")
    test = build_source("rotated:mnist5k", "test")
    assert len(train) == 4000 and len(test) == 1000 and train.info.target_name == "angle"
    assert -45 <= train.targets.min() and train.targets.max() <= 45
    assert train.targets.std() > 20  # uniform over 90 degrees: std ~26
    base = build_source("mnist5k", "train").as_arrays()["image"]
    np.testing.assert_array_equal(train.as_arrays()["image"][0],
                                  rotate_images(base[:1], train.targets[:1])[0])
    few = build_source("rotated:mnist5k", "train", seed=3, train_fraction=0.1)
    assert len(few) == 400 and set(few.targets.tolist()) <= set(train.targets.tolist())
    wide = build_source("rotated:mnist5k", "test", angle_range=(0.0, 360.0))
    assert wide.targets.max() > 300


def test_bad_names_say_what_is_valid():
    with pytest.raises(ValueError, match="tabular:diabetes"):
        build_source("tabular:boston", "train")
    with pytest.raises(ValueError, match="rotated:mnist5k"):
        build_source("rotated:cifar", "train")
    with pytest.raises(ValueError, match="angle_range"):
        build_source("rotated:mnist5k", "train", angle_range=(10.0, 0.0))
