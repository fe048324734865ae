"""``textured:<source>``: digits on scikit-image textures, texture independent of the digit."""

import numpy as np
import pytest

from contrastive_jax.data import build_source
from contrastive_jax.data.textured import DEFAULT_TEXTURES, composite, load_texture
from contrastive_jax.evaluate import RelabeledFeatures, SplitFeatures, array_batches


def test_composite_formula():
    digits = np.array([0, 255, 128], np.uint8).reshape(1, 1, 3, 1)
    windows = np.array([[[0.5, 0.5, 1.0]]], np.float32)
    out = composite(digits, windows, texture_max=0.7)
    a = np.array([0, 1, 128 / 255])
    expected = np.round(255 * ((1 - a) * 0.7 * np.array([0.5, 0.5, 1.0]) + a))
    assert out.shape == (1, 1, 3, 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0, :, 0], expected.astype(np.uint8))


def test_textured_digits_source():
    base = build_source("digits", "train")
    source = build_source("textured:digits", "train")
    assert len(source) == len(base) and source.info.name == "textured:digits"
    assert source.info.image_shape == (8, 8, 1) and source.info.num_classes == 10
    record = source[3]
    assert set(record) == {"image", "label", "texture_label"}
    assert record["label"] == base[3]["label"]
    assert record["image"].dtype == np.uint8 and record["image"].shape == (8, 8, 1)
    textures = source.texture_labels
    assert set(np.unique(textures)) == set(range(len(DEFAULT_TEXTURES)))
    # The texture is a nuisance: its frequencies are the same within every digit class
    # (a chi-square test of independence would not reject; here, each class's texture
    # shares stay within 0.15 of the overall share of 1/3).
    labels = source.labels
    for c in range(10):
        shares = np.bincount(textures[labels == c], minlength=3) / np.sum(labels == c)
        assert np.all(np.abs(shares - 1 / 3) < 0.15)
    # Where the digit is dark, the pixel is the texture (darker than the digit's strokes).
    digits = base.as_arrays()["image"]
    assert source.images[digits == 0].max() <= round(255 * 0.7)
    assert source.images[digits == 255].min() == 255
    # Fixed with the data set: the same composites on every build and seed.
    again = build_source("textured:digits", "train", seed=5)
    np.testing.assert_array_equal(again.images, source.images)
    test = build_source("textured:digits", "test")
    assert len(test) == 360 and not np.array_equal(test.texture_labels[:50], textures[:50])
    assert source.extra_labels["texture"] is source.texture_labels
    assert source.extra_label_classes == {"texture": 3}


def test_texture_windows_differ_between_textures():
    planes = [load_texture(name, 32) for name in DEFAULT_TEXTURES]
    assert all(min(p.shape) == 32 and 0 <= p.min() and p.max() <= 1 for p in planes)
    assert len({round(float(p.std()), 4) for p in planes}) == 3
    with pytest.raises(ValueError, match="no image"):
        load_texture("no_such_texture", 32)


def test_relabeled_features_reuse_the_embedding():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    calls = []

    def embed(model, batch):
        calls.append(1)
        return batch["x"], batch["label"]

    splits = {s: (lambda: array_batches({"x": x, "label": np.zeros(6, np.int32)}, 4))
              for s in ("train", "test")}
    features = SplitFeatures(embed, None, splits)
    relabeled = RelabeledFeatures(features, {"train": np.arange(6) % 2, "test": np.ones(6)})
    embedded, labels = relabeled["train"]
    np.testing.assert_array_equal(embedded, x)
    assert labels.tolist() == [0, 1, 0, 1, 0, 1]
    features["train"]
    assert len(calls) == 2  # two batches, embedded once
    with pytest.raises(ValueError, match="5 labels for 6 rows"):
        RelabeledFeatures(features, {"test": np.ones(5)})["test"]
