"""Zero-shot classification on a constructed geometry with a known answer."""

import numpy as np
import pytest

from contrastive_jax.evaluate import class_embeddings, zero_shot_accuracy, zero_shot_logits


def orthonormal(num, dim, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q[:num]


def test_known_accuracy_with_class_means_as_text():
    classes = orthonormal(5, 16)  # e_0..e_4, orthonormal
    labels = np.repeat(np.arange(5), 8)
    # Correct images: e_y + 0.5 e_{y+1}; confusers (every 4th): 0.3 e_y + e_{y+1} -> class y+1.
    neighbour = (labels + 1) % 5
    confused = np.arange(len(labels)) % 4 == 0
    weight_own = np.where(confused, 0.3, 1.0)[:, None]
    weight_other = np.where(confused, 1.0, 0.5)[:, None]
    images = weight_own * classes[labels] + weight_other * classes[neighbour]
    images *= np.random.default_rng(1).uniform(0.1, 10, (len(labels), 1))  # norms do not matter
    assert zero_shot_accuracy(images, labels, classes * 3.0) == pytest.approx(1 - confused.mean())
    assert zero_shot_accuracy(images, labels, classes, k=2) == 1.0


def test_templates_are_normalized_before_averaging():
    classes = orthonormal(3, 8)
    extra = orthonormal(8, 8, seed=2)[3:6]  # directions orthogonal to... any; made exact below
    extra = extra - (extra @ classes.T) @ classes  # orthogonal to every class vector
    # Two templates per class: (e_c + v_c) with norm 1x and (e_c - v_c) with norm 10x.
    templates = np.stack([1.0 * (classes + extra), 10.0 * (classes - extra)], axis=1)
    np.testing.assert_allclose(np.asarray(class_embeddings(templates)), classes, atol=1e-6)
    # Averaging raw embeddings instead would tilt towards the 10x template.
    raw_mean = templates.mean(1)
    raw_mean /= np.linalg.norm(raw_mean, axis=1, keepdims=True)
    assert np.max(np.abs(raw_mean - classes)) > 0.1


def test_logits_are_cosines_and_shapes_are_checked():
    rng = np.random.default_rng(3)
    images, texts = rng.normal(size=(6, 5)), rng.normal(size=(4, 5))
    expected = (images / np.linalg.norm(images, axis=1, keepdims=True)) @ (
        texts / np.linalg.norm(texts, axis=1, keepdims=True)).T
    np.testing.assert_allclose(np.asarray(zero_shot_logits(images, texts)), expected, atol=1e-5)
    with pytest.raises(ValueError, match="class_text_embeddings"):
        class_embeddings(np.zeros((2, 3, 4, 5)))
