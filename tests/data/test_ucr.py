"""``ucr:<Name>`` sources: the archive's own splits, shapes, labels, TS2Vec's preprocessing,
variable length padded with a mask (never truncated), and the offline error for other names."""

import numpy as np
import pytest

from contrastive_jax.data import build_source
from contrastive_jax.data import ucr


def _raw(name, split):
    from aeon.datasets import load_classification

    return load_classification(name, split=split)


def test_univariate_split_shapes_labels_and_no_renormalisation():
    train, test = build_source("ucr:GunPoint", "train"), build_source("ucr:GunPoint", "test")
    assert (len(train), len(test)) == (50, 150)
    assert train.info.image_shape == (150, 1) and train.info.input_keys == ("series", "mask")
    assert train.info.num_classes == 2 and train.info.class_names == ("1", "2")
    record = train[3]
    assert record["series"].dtype == np.float32 and record["series"].shape == (150, 1)
    assert record["mask"].dtype == bool and record["mask"].all()
    assert record["label"].dtype == np.int32 and int(record["index"]) == 3
    x, y = _raw("GunPoint", "test")
    # GunPoint is z-normalised in the archive: TS2Vec (and we) leave it as it is.
    np.testing.assert_allclose(test.series[:, :, 0], x[:, 0, :], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(test.labels, (y.astype(int) - 1))


def test_multivariate_is_standardised_per_channel_with_train_statistics():
    train, test = build_source("ucr:BasicMotions", "train"), build_source("ucr:BasicMotions",
                                                                         "test")
    assert (len(train), len(test)) == (40, 40) and train.info.image_shape == (100, 6)
    assert train.info.num_classes == 4
    flat = train.series.reshape(-1, 6).astype(np.float64)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(flat.std(axis=0), 1.0, atol=1e-5)
    x_train, _ = _raw("BasicMotions", "train")
    x_test, _ = _raw("BasicMotions", "test")
    values = x_train.transpose(0, 2, 1).reshape(-1, 6)
    expected = (x_test.transpose(0, 2, 1) - values.mean(axis=0)) / values.std(axis=0)
    np.testing.assert_allclose(test.series, expected, rtol=1e-4, atol=1e-4)


def test_variable_length_is_padded_with_a_mask_never_truncated():
    train, test = build_source("ucr:JapaneseVowels", "train"), build_source(
        "ucr:JapaneseVowels", "test")
    raw = {"train": _raw("JapaneseVowels", "train")[0], "test": _raw("JapaneseVowels", "test")[0]}
    longest = max(s.shape[1] for split in raw.values() for s in split)
    assert train.info.image_shape == (longest, 12) == test.info.image_shape
    lengths = np.array([s.shape[1] for s in raw["train"]])
    assert len(set(lengths)) > 1, "JapaneseVowels should have series of several lengths"
    np.testing.assert_array_equal(train.mask.sum(axis=1), lengths)
    for i in (0, int(np.argmin(lengths)), int(np.argmax(lengths))):
        n = lengths[i]
        assert train.mask[i, :n].all() and not train.mask[i, n:].any()
        assert (train.series[i, n:] == 0).all()
    # standardised over observed steps only, so the padding does not shift the statistics
    observed = train.series[train.mask].astype(np.float64)
    np.testing.assert_allclose(observed.mean(axis=0), 0.0, atol=1e-5)


def test_an_unavailable_name_fails_with_a_clear_message(monkeypatch):
    import aeon.datasets

    def offline(name, split=None, extract_path=None, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(aeon.datasets, "load_classification", offline)
    ucr.load_ucr_arrays.cache_clear()
    with pytest.raises(ValueError, match="only the sets bundled|Only the sets bundled"):
        build_source("ucr:NotADataset", "train")
    with pytest.raises(ValueError, match="unknown split"):
        ucr.ucr_source("GunPoint", "validation")
