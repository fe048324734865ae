"""Evaluators in the big_vision style, fed by streamed batches: ``evaluator.run(model)`` yields
``(metric_name, value)`` pairs.

Each evaluator holds an ``embed_fn(model, batch) -> (features [B, D], labels [B])`` and its
splits as batches (``(batch, num_valid)`` iterables, or callables making one; see
``evaluate.features``). ``run(model)`` embeds what it needs and scores it;
``evaluate(features)`` scores a ``SplitFeatures`` that is already (partly) embedded, so the kNN,
linear probe and diagnostics of one encoder embed each split once between them.
``from_config`` builds the list the config asks for (big_vision ``evaluators/common.py``). Only
features are held on the host, never a split's images. Nothing here imports the train library.
"""

from __future__ import annotations

import abc

from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from contrastive_jax.evaluate.diagnostics import representation_diagnostics
from contrastive_jax.evaluate.features import (
    EmbedFn,
    SplitFeatures,
    array_batches,
    embed_split,
)
from contrastive_jax.evaluate.knn import knn_accuracy, knn_predict
from contrastive_jax.evaluate.linear_probe import DEFAULT_L2_GRID, linear_probe, predict_logits
from contrastive_jax.evaluate.low_label import DEFAULT_L2 as LOW_LABEL_L2
from contrastive_jax.evaluate.low_label import DEFAULT_SHOTS, low_label_scores
from contrastive_jax.evaluate.per_class import per_class_scores
from contrastive_jax.evaluate.retrieval import retrieval_recall
from contrastive_jax.evaluate.svm import svm_accuracy
from contrastive_jax.evaluate.zero_shot import zero_shot_accuracy

TRAIN, TEST = "train", "test"


class SplitEvaluator(abc.ABC):
    """Base of the evaluators that read a train and a held-out split of one encoder; a
    subclass implements ``evaluate``."""

    def __init__(self, embed_fn: EmbedFn, *, train_batches=None, test_batches=None):
        self.embed_fn = embed_fn
        self.splits = {name: batches for name, batches in
                       ((TRAIN, train_batches), (TEST, test_batches)) if batches is not None}

    def run(self, model) -> Iterator[tuple[str, float]]:
        """Embed the splits with ``model`` and score them."""
        yield from self.evaluate(SplitFeatures(self.embed_fn, model, self.splits))

    @abc.abstractmethod
    def evaluate(self, features: SplitFeatures) -> Iterator[tuple[str, float]]:
        """``(name, value)`` of each metric this evaluator computes from ``features``."""


class KnnEvaluator(SplitEvaluator):
    """Weighted cosine kNN accuracy of the held-out features against the train features
    (``knn_accuracy``). Yields ``("knn", accuracy)``."""

    def __init__(self, embed_fn: EmbedFn, *, train_batches, test_batches, num_classes: int,
                 k: int = 20, temperature: float = 0.07, weighting: str = "distance",
                 class_counts=None):
        super().__init__(embed_fn, train_batches=train_batches, test_batches=test_batches)
        self.num_classes, self.k, self.temperature = num_classes, k, temperature
        self.weighting, self.class_counts = weighting, class_counts

    def evaluate(self, features: SplitFeatures) -> Iterator[tuple[str, float]]:
        """With ``class_counts`` (a long-tailed training set's, ``evaluate.per_class``) also
        ``knn_class{c}``, ``knn_head`` and ``knn_tail``."""
        options = dict(num_classes=self.num_classes, k=self.k, temperature=self.temperature,
                       weighting=self.weighting)
        if self.class_counts is None:
            yield "knn", float(knn_accuracy(*features[TRAIN], *features[TEST], **options))
            return
        test_features, test_labels = features[TEST]
        predictions = knn_predict(*features[TRAIN], test_features, **options)
        yield "knn", float(np.mean(predictions == test_labels))
        yield from per_class_scores("knn", predictions, test_labels,
                                    num_classes=self.num_classes,
                                    class_counts=self.class_counts).items()


class LinearProbeEvaluator(SplitEvaluator):
    """Held-out linear-probe accuracy (``linear_probe``: L2 chosen on a split of train, refit,
    test). Yields ``linear_probe`` (accuracy) and ``linear_probe_l2`` (the chosen L2)."""

    def __init__(self, embed_fn: EmbedFn, *, train_batches, test_batches, num_classes: int,
                 l2_grid: Sequence[float] = DEFAULT_L2_GRID, max_iter: int = 1000,
                 val_fraction: float = 0.1, seed: int = 0, standardize: bool = True,
                 class_counts=None):
        super().__init__(embed_fn, train_batches=train_batches, test_batches=test_batches)
        self.num_classes, self.class_counts = num_classes, class_counts
        self.options = dict(l2_grid=tuple(l2_grid), max_iter=max_iter,
                            val_fraction=val_fraction, seed=seed, standardize=standardize)

    def evaluate(self, features: SplitFeatures) -> Iterator[tuple[str, float]]:
        """With ``class_counts`` (a long-tailed training set's, ``evaluate.per_class``) also
        ``linear_probe_class{c}``, ``linear_probe_head`` and ``linear_probe_tail``."""
        result = linear_probe(*features[TRAIN], *features[TEST], num_classes=self.num_classes,
                              **self.options)
        yield "linear_probe", float(result["accuracy"])
        yield "linear_probe_l2", float(result["l2"])
        if self.class_counts is not None:
            test_features, test_labels = features[TEST]
            predictions = np.asarray(predict_logits(result["model"], test_features)).argmax(-1)
            yield from per_class_scores("linear_probe", predictions, test_labels,
                                        num_classes=self.num_classes,
                                        class_counts=self.class_counts).items()


class LowLabelEvaluator(SplitEvaluator):
    """Linear probe and kNN from ``k`` labelled train examples per class, averaged over
    ``draws`` seeded draws (``evaluate.low_label``). Yields ``low_label_probe_{k}shot``,
    ``low_label_knn_{k}shot`` and their ``_std`` over draws."""

    def __init__(self, embed_fn: EmbedFn, *, train_batches, test_batches, num_classes: int,
                 shots: Sequence[int] = DEFAULT_SHOTS, draws: int = 5, seed: int = 0,
                 l2: float = LOW_LABEL_L2, max_iter: int = 1000, knn_k: int = 20,
                 knn_temperature: float = 0.07):
        super().__init__(embed_fn, train_batches=train_batches, test_batches=test_batches)
        self.num_classes = num_classes
        self.options = dict(shots=tuple(int(k) for k in shots), draws=int(draws), seed=seed,
                            l2=float(l2), max_iter=max_iter, knn_k=knn_k,
                            knn_temperature=knn_temperature)

    def evaluate(self, features: SplitFeatures) -> Iterator[tuple[str, float]]:
        yield from low_label_scores(*features[TRAIN], *features[TEST],
                                    num_classes=self.num_classes, **self.options).items()


class SvmEvaluator(SplitEvaluator):
    """TS2Vec's protocol (``evaluate.svm``): an RBF SVM on the train features, ``C`` by 5-fold
    grid search (none on a small train split), held-out accuracy. Yields ``svm_accuracy`` and
    ``svm_C``."""

    def __init__(self, embed_fn: EmbedFn, *, train_batches, test_batches):
        super().__init__(embed_fn, train_batches=train_batches, test_batches=test_batches)

    def evaluate(self, features: SplitFeatures) -> Iterator[tuple[str, float]]:
        result = svm_accuracy(*features[TRAIN], *features[TEST])
        yield "svm_accuracy", result["accuracy"]
        yield "svm_C", result["C"]


class DiagnosticsEvaluator(SplitEvaluator):
    """Label-free health of the held-out features (``representation_diagnostics``: RankMe,
    uniformity, per-dimension std)."""

    def __init__(self, embed_fn: EmbedFn, *, test_batches):
        super().__init__(embed_fn, test_batches=test_batches)

    def evaluate(self, features: SplitFeatures) -> Iterator[tuple[str, float]]:
        yield from representation_diagnostics(features[TEST][0]).items()


def embed_texts(embed_text_fn: EmbedFn, model, texts: np.ndarray, text_batches=None,
                batch_size: int = 256) -> np.ndarray:
    """Features [..., D] of token ids ``texts: [..., L]`` (leading shape kept). ``text_batches``
    streams ``texts`` flattened to ``[M, L]`` (key ``"text"``) when the caller shards them; by
    default in-memory batches of ``batch_size``."""
    flat = texts.reshape(-1, texts.shape[-1])
    if text_batches is None:
        text_batches = array_batches(
            {"text": flat, "label": np.zeros(len(flat), np.int32)}, batch_size)
    embedded, _ = embed_split(embed_text_fn, model, text_batches)
    return embedded.reshape(*texts.shape[:-1], embedded.shape[-1])


class ZeroShotEvaluator:
    """CLIP zero-shot accuracy: held-out image features against embedded class prompts.

    class_texts: token ids ``[C, L]`` (one prompt per class) or ``[C, T, L]`` (T templates per
    class, averaged as in ``zero_shot``); ``text_batches``: see ``embed_texts``.
    Yields ``zero_shot`` (top-1) and ``zero_shot_top{k}`` for each other k in ``ks``.
    """

    def __init__(self, embed_image_fn: EmbedFn, embed_text_fn: EmbedFn, *, test_batches,
                 class_texts, ks: Sequence[int] = (1,), text_batches=None,
                 batch_size: int = 256):
        self.embed_image_fn, self.embed_text_fn = embed_image_fn, embed_text_fn
        self.test_batches, self.class_texts = test_batches, np.asarray(class_texts)
        self.ks, self.text_batches, self.batch_size = tuple(ks), text_batches, batch_size

    def run(self, model) -> Iterator[tuple[str, float]]:
        images, labels = embed_split(self.embed_image_fn, model, self.test_batches)
        texts = embed_texts(self.embed_text_fn, model, self.class_texts, self.text_batches,
                            self.batch_size)
        for k in self.ks:
            name = "zero_shot" if k == 1 else f"zero_shot_top{k}"
            yield name, float(zero_shot_accuracy(images, labels, texts, k=k))


class RetrievalEvaluator:
    """Image<->text Recall@K over streamed pairs: ``image_batches`` and ``text_batches`` (often
    the same loader of a captions split, read by an image and a text embed_fn); text ``j``
    describes image ``image_ids[j]`` (default: image ``j``).

    Yields ``i2t_recall@K`` and ``t2i_recall@K`` for K in ``ks``.
    """

    def __init__(self, embed_image_fn: EmbedFn, embed_text_fn: EmbedFn, *, image_batches,
                 text_batches, image_ids=None, ks: Sequence[int] = (1, 5, 10)):
        self.embed_image_fn, self.embed_text_fn = embed_image_fn, embed_text_fn
        self.image_batches, self.text_batches = image_batches, text_batches
        self.image_ids = None if image_ids is None else np.asarray(image_ids)
        self.ks = tuple(ks)

    def run(self, model) -> Iterator[tuple[str, float]]:
        images, _ = embed_split(self.embed_image_fn, model, self.image_batches)
        texts, _ = embed_split(self.embed_text_fn, model, self.text_batches)
        yield from retrieval_recall(images, texts, ks=self.ks, image_ids=self.image_ids).items()


def from_config(eval_config: Mapping[str, Any], embed_fn: EmbedFn, *, train_batches,
                test_batches, num_classes: int, class_counts=None) -> list[SplitEvaluator]:
    """The evaluators of one encoder's table row that ``eval_config`` asks for: kNN
    (``knn_k``, ``knn_temperature``), the linear probe when ``final_linear_probe``
    (``probe_l2_grid``, ``probe_max_iter``), TS2Vec's RBF SVM when ``svm``, the diagnostics when
    ``diagnostics`` and the
    low-label probes when ``low_label_shots`` is not empty (``low_label_draws``,
    ``low_label_l2``). ``class_counts`` (the training set's, when it is long-tailed) adds
    per-class, head and tail accuracy to the kNN and the probe."""
    splits = dict(train_batches=train_batches, test_batches=test_batches)
    evaluators: list[SplitEvaluator] = [KnnEvaluator(
        embed_fn, **splits, num_classes=num_classes, k=int(eval_config["knn_k"]),
        temperature=float(eval_config["knn_temperature"]), class_counts=class_counts)]
    if eval_config["final_linear_probe"]:
        evaluators.append(LinearProbeEvaluator(
            embed_fn, **splits, num_classes=num_classes,
            l2_grid=tuple(eval_config["probe_l2_grid"]),
            max_iter=int(eval_config["probe_max_iter"]), class_counts=class_counts))
    if eval_config.get("svm", False):
        evaluators.append(SvmEvaluator(embed_fn, **splits))
    if eval_config.get("diagnostics", False):
        evaluators.append(DiagnosticsEvaluator(embed_fn, test_batches=test_batches))
    if eval_config.get("low_label_shots", ()):
        evaluators.append(LowLabelEvaluator(
            embed_fn, **splits, num_classes=num_classes,
            shots=tuple(eval_config["low_label_shots"]),
            draws=int(eval_config.get("low_label_draws", 5)),
            l2=float(eval_config.get("low_label_l2", LOW_LABEL_L2)),
            max_iter=int(eval_config["probe_max_iter"]), knn_k=int(eval_config["knn_k"]),
            knn_temperature=float(eval_config["knn_temperature"])))
    return evaluators


def table_row(evaluators: Sequence[SplitEvaluator], features: SplitFeatures) -> dict:
    """One row of the final table: every evaluator's metrics on ``features`` (shared, so each
    split is embedded once) and ``feature_dim``. A diverged encoder (non-finite features) gets
    NaN ``knn`` and ``linear_probe`` and an ``error`` instead of a crash."""
    dim = int(features[TRAIN][0].shape[1])
    if not features.all_finite(TRAIN, TEST):
        return {"knn": float("nan"), "linear_probe": float("nan"), "feature_dim": dim,
                "error": "non-finite features"}
    row: dict = {}
    for evaluator in evaluators:
        row.update(evaluator.evaluate(features))
    return {**row, "feature_dim": dim}
