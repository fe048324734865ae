"""Evaluators over streamed batches with a toy embed_fn give the same numbers as the array
functions (and scikit-learn / NumPy references), embedding each split once per encoder."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax.data.pipeline import make_eval_loader
from contrastive_jax.evaluate import (
    DiagnosticsEvaluator, KnnEvaluator, LinearProbeEvaluator, RetrievalEvaluator, SplitFeatures,
    ZeroShotEvaluator, embed_dataset, embed_split, evaluators_from_config, knn_accuracy,
    linear_probe, representation_diagnostics, retrieval_recall, table_row, with_labels,
    zero_shot_accuracy)


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


def records(images, labels, **extra):
    """A list of records in the source contract (``make_eval_loader`` reads any sequence)."""
    return [{"image": image, "label": np.int32(label),
             **{key: value[index] for key, value in extra.items()}}
            for index, (image, label) in enumerate(zip(images, labels))]


def batches(images, labels, batch_size, **extra):
    """A split as a callable making a fresh streamed loader of it."""
    split = records(images, labels, **extra)
    return lambda: make_eval_loader(split, batch_size=batch_size, process_index=0,
                                    process_count=1)


MODEL = {"scale": jnp.float32(2.0)}


def flat(images):
    return 2.0 * images.reshape(len(images), -1).astype(np.float32) / 255.0


def test_embed_split_streams_batches_of_one_shape_and_drops_the_padding():
    images, labels = toy_images(23, 3, seed=0)
    embed = FlattenEmbed()
    features, got_labels = embed_split(with_labels(embed), MODEL, batches(images, labels, 8))
    assert features.shape == (23, 16) and features.dtype == np.float32
    np.testing.assert_allclose(features, flat(images), rtol=1e-6)
    np.testing.assert_array_equal(got_labels, labels)
    assert embed.shapes == [(8, 4, 4, 1)] * 3  # one shape: compiles once


def test_embed_dataset_pads_the_last_batch_and_drops_it():
    images, _ = toy_images(23, 3, seed=0)
    embed = FlattenEmbed()
    features = embed_dataset(embed, MODEL, images, batch_size=8)
    np.testing.assert_allclose(features, flat(images), rtol=1e-6)
    assert embed.shapes == [(8, 4, 4, 1)] * 3


def test_split_features_embed_each_split_once_for_every_evaluator():
    train, train_labels = toy_images(40, 4, seed=1)
    test, test_labels = toy_images(20, 4, seed=2)
    embed = FlattenEmbed()
    splits = dict(train_batches=batches(train, train_labels, 16),
                  test_batches=batches(test, test_labels, 16))
    config = dict(knn_k=5, knn_temperature=0.07, final_linear_probe=True,
                  probe_l2_grid=(1e-2,), probe_max_iter=50, diagnostics=True)
    built = evaluators_from_config(config, with_labels(embed), **splits, num_classes=4)
    assert [type(e) for e in built] == [KnnEvaluator, LinearProbeEvaluator, DiagnosticsEvaluator]
    assert built[1].options["l2_grid"] == (1e-2,) and built[1].options["max_iter"] == 50
    without = dict(config, final_linear_probe=False)  # the probe is tested on its own below
    evaluators = evaluators_from_config(without, with_labels(embed), **splits, num_classes=4)
    features = SplitFeatures(with_labels(embed), MODEL, {"train": splits["train_batches"],
                                                         "test": splits["test_batches"]})
    row = table_row(evaluators, features)
    assert len(embed.shapes) == 3 + 2  # 40 train rows in 3 batches, 20 test rows in 2: once
    assert row["feature_dim"] == 16 and "linear_probe" not in row
    assert row["knn"] == pytest.approx(knn_accuracy(
        flat(train), train_labels, flat(test), test_labels, num_classes=4, k=5))
    assert row["rankme"] == pytest.approx(representation_diagnostics(flat(test))["rankme"])


def test_table_row_reports_a_diverged_encoder_instead_of_crashing():
    images, labels = toy_images(10, 2, seed=3)
    nan_model = {"scale": jnp.float32(np.nan)}
    split = batches(images, labels, 4)
    features = SplitFeatures(with_labels(FlattenEmbed()), nan_model,
                             {"train": split, "test": split})
    knn = KnnEvaluator(with_labels(FlattenEmbed()), train_batches=split, test_batches=split,
                       num_classes=2)
    row = table_row([knn], features)
    assert np.isnan(row["knn"]) and np.isnan(row["linear_probe"])
    assert row["error"] == "non-finite features" and row["feature_dim"] == 16


def test_knn_evaluator_matches_knn_accuracy():
    train, train_labels = toy_images(120, 4, seed=1)
    test, test_labels = toy_images(50, 4, seed=2)
    evaluator = KnnEvaluator(with_labels(FlattenEmbed()),
                             train_batches=batches(train, train_labels, 32),
                             test_batches=batches(test, test_labels, 32), num_classes=4, k=5)
    (name, value), = list(evaluator.run(MODEL))
    expected = knn_accuracy(flat(train), train_labels, flat(test), test_labels, num_classes=4, k=5)
    assert name == "knn" and value == pytest.approx(expected)
    assert value > 0.5  # chance is 0.25: the embedding really reached the classifier


def test_linear_probe_evaluator_matches_linear_probe():
    # 600 x 20 features, 4 classes: the shape test_linear_probe.py compiles the solver for.
    train, train_labels = toy_images(600, 4, seed=3, shape=(5, 4, 1))
    test, test_labels = toy_images(60, 4, seed=4, shape=(5, 4, 1))
    evaluator = LinearProbeEvaluator(with_labels(FlattenEmbed()),
                                     train_batches=batches(train, train_labels, 64),
                                     test_batches=batches(test, test_labels, 64), num_classes=4,
                                     l2_grid=(1e-3, 1e-1))
    metrics = dict(evaluator.run(MODEL))
    expected = linear_probe(flat(train), train_labels, flat(test), test_labels, num_classes=4,
                            l2_grid=(1e-3, 1e-1), max_iter=1000)
    assert metrics["linear_probe"] == pytest.approx(expected["accuracy"])
    assert metrics["linear_probe_l2"] == expected["l2"]


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
    evaluator = ZeroShotEvaluator(with_labels(FlattenEmbed()),
                                  with_labels(embed_text, input_key="text"),
                                  test_batches=batches(images, labels, 16),
                                  class_texts=class_texts, ks=(1, 2), batch_size=4)
    metrics = dict(evaluator.run(MODEL))
    text_embeddings = table[class_texts].sum(axis=2)  # [3, 2, 16]
    assert metrics["zero_shot"] == pytest.approx(
        zero_shot_accuracy(flat(images), labels, text_embeddings))
    assert metrics["zero_shot_top2"] == pytest.approx(
        zero_shot_accuracy(flat(images), labels, text_embeddings, k=2))


def test_retrieval_evaluator_matches_retrieval_recall():
    images, _ = toy_images(12, 12, seed=7)
    rng = np.random.default_rng(8)
    texts = rng.integers(0, 16, (24, 3))
    image_ids = np.repeat(np.arange(12), 2)
    # A token table that maps each image's captions near its flattened pixels.
    table = rng.normal(size=(16, 16))
    image_split = batches(images, np.zeros(12), 5)
    text_split = batches(np.zeros((24, 1, 1, 1), np.uint8), np.zeros(24), 5, text=texts)
    evaluator = RetrievalEvaluator(with_labels(FlattenEmbed()),
                                   with_labels(text_embedder(table), input_key="text"),
                                   image_batches=image_split, text_batches=text_split,
                                   image_ids=image_ids, ks=(1, 5))
    metrics = dict(evaluator.run(MODEL))
    expected = retrieval_recall(flat(images), table[texts].sum(axis=1), image_ids=image_ids,
                                ks=(1, 5))
    assert metrics == pytest.approx(expected)
