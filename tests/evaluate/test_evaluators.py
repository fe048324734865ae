"""Evaluators with a toy embed_fn give the same numbers as the array functions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax.evaluate import (
    KnnEvaluator, LinearProbeEvaluator, RetrievalEvaluator, ZeroShotEvaluator, embed_dataset,
    knn_accuracy, linear_probe, retrieval_recall, zero_shot_accuracy)


class FlattenEmbed:
    """embed_fn(model, images) = model["scale"] * flattened float pixels; records batch shapes."""

    def __init__(self):
        self.shapes = []
        self._jitted = jax.jit(lambda model, x: model["scale"] * x.reshape(len(x), -1) / 255.0)

    def __call__(self, model, images):
        self.shapes.append(images.shape)
        return self._jitted(model, images)


def toy_images(num, num_classes, seed, shape=(4, 4, 1)):
    """uint8 [num, *shape] noisy copies of per-class prototypes (the same for every seed)."""
    prototypes = np.random.default_rng(123).integers(0, 256, (num_classes, *shape))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, num)
    noise = rng.integers(-60, 60, (num, *shape))
    return np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8), labels


MODEL = {"scale": jnp.float32(2.0)}


def flat(images):
    return 2.0 * images.reshape(len(images), -1).astype(np.float32) / 255.0


def test_embed_dataset_pads_the_last_batch_and_drops_it():
    images, _ = toy_images(23, 3, seed=0)
    embed = FlattenEmbed()
    features = embed_dataset(embed, MODEL, images, batch_size=8)
    assert features.shape == (23, 16) and features.dtype == np.float32
    np.testing.assert_allclose(features, flat(images), rtol=1e-6)
    assert embed.shapes == [(8, 4, 4, 1)] * 3  # one shape: compiles once


def test_knn_evaluator_matches_knn_accuracy():
    train, train_labels = toy_images(120, 4, seed=1)
    test, test_labels = toy_images(50, 4, seed=2)
    evaluator = KnnEvaluator(FlattenEmbed(), train_data={"image": train, "label": train_labels},
                             test_data=(test, test_labels), num_classes=4, k=5, batch_size=32)
    (name, value), = list(evaluator.run(MODEL))
    expected = knn_accuracy(flat(train), train_labels, flat(test), test_labels, num_classes=4, k=5)
    assert name == "knn_accuracy" and value == pytest.approx(expected)
    assert value > 0.5  # chance is 0.25: the embedding really reached the classifier


def test_linear_probe_evaluator_matches_linear_probe():
    # 600 x 20 features, 4 classes: the shape test_linear_probe.py compiles the solver for.
    train, train_labels = toy_images(600, 4, seed=3, shape=(5, 4, 1))
    test, test_labels = toy_images(60, 4, seed=4, shape=(5, 4, 1))
    evaluator = LinearProbeEvaluator(FlattenEmbed(), train_data=(train, train_labels),
                                     test_data=(test, test_labels), num_classes=4,
                                     l2_grid=(1e-3, 1e-1), batch_size=64)
    metrics = dict(evaluator.run(MODEL))
    expected = linear_probe(flat(train), train_labels, flat(test), test_labels, num_classes=4,
                            l2_grid=(1e-3, 1e-1))
    assert metrics["linear_probe_accuracy"] == pytest.approx(expected["accuracy"])
    assert metrics["linear_probe_l2"] == expected["l2"]
    assert metrics["linear_probe_val_accuracy"] == pytest.approx(expected["val_accuracy"])


def text_embedder(table):
    """embed_text_fn(model, tokens [B, L]) = sum of the table rows of the tokens."""
    table = jnp.asarray(table, jnp.float32)
    return jax.jit(lambda model, tokens: jnp.sum(table[tokens], axis=1))


def test_zero_shot_evaluator_matches_zero_shot_accuracy():
    images, labels = toy_images(40, 3, seed=5)
    rng = np.random.default_rng(6)
    table = rng.normal(size=(10, 16))
    class_texts = rng.integers(0, 10, (3, 2, 5))  # 3 classes x 2 templates x 5 tokens
    embed_text = text_embedder(table)
    evaluator = ZeroShotEvaluator(FlattenEmbed(), embed_text, images=images, labels=labels,
                                  class_texts=class_texts, ks=(1, 2), batch_size=4)
    metrics = dict(evaluator.run(MODEL))
    text_embeddings = table[class_texts].sum(axis=2)  # [3, 2, 16]
    assert metrics["zero_shot_accuracy"] == pytest.approx(
        zero_shot_accuracy(flat(images), labels, text_embeddings))
    assert metrics["zero_shot_top2_accuracy"] == pytest.approx(
        zero_shot_accuracy(flat(images), labels, text_embeddings, k=2))


def test_retrieval_evaluator_matches_retrieval_recall():
    images, _ = toy_images(12, 12, seed=7)
    rng = np.random.default_rng(8)
    texts = rng.integers(0, 16, (24, 3))
    image_ids = np.repeat(np.arange(12), 2)
    # A token table that maps each image's captions near its flattened pixels.
    table = rng.normal(size=(16, 16))
    evaluator = RetrievalEvaluator(FlattenEmbed(), text_embedder(table), images=images,
                                   texts=texts, image_ids=image_ids, ks=(1, 5), batch_size=5)
    metrics = dict(evaluator.run(MODEL))
    expected = retrieval_recall(flat(images), table[texts].sum(axis=1), image_ids=image_ids,
                                ks=(1, 5))
    assert metrics == pytest.approx(expected)
