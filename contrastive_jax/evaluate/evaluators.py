"""Evaluators in the big_vision style: ``Evaluator(embed_fn, **config).run(model)`` yields
``(metric_name, value)`` pairs.

``embed_fn(model, batch) -> [B, D]`` is whatever the caller provides (typically a jitted
wrapper of a method's ``embed``); ``model`` is passed through untouched, so it may be an NNX
module, a train state or parameters. Inputs are embedded in batches of one fixed size (the last
padded, its padding dropped) so ``embed_fn`` compiles once. Nothing here imports the train
library.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from contrastive_jax.evaluate.knn import knn_accuracy
from contrastive_jax.evaluate.linear_probe import DEFAULT_L2_GRID, linear_probe
from contrastive_jax.evaluate.retrieval import retrieval_recall
from contrastive_jax.evaluate.zero_shot import zero_shot_accuracy

EmbedFn = Callable[[Any, Any], Any]


def embed_dataset(embed_fn: EmbedFn, model, inputs, *, batch_size: int) -> np.ndarray:
    """``embed_fn(model, batch)`` over ``inputs: [N, ...]`` (images as given, e.g. uint8 NHWC,
    or token ids) in batches of exactly ``batch_size``; the last batch is padded by repeating
    its final row and the padding's outputs are dropped. Returns float32 [N, D] on the host.
    """
    inputs = np.asarray(inputs)
    num = len(inputs)
    if num == 0:
        raise ValueError("embed_dataset got no inputs")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    outputs = []
    for start in range(0, num, batch_size):
        batch = inputs[start:start + batch_size]
        valid = len(batch)
        if valid < batch_size:
            batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - valid, axis=0)])
        embedded = np.asarray(embed_fn(model, batch), np.float32)
        outputs.append(embedded.reshape(batch_size, -1)[:valid])
    return np.concatenate(outputs)


def split_data(data, *, input_key: str = "image", label_key: str = "label"):
    """``(inputs, labels)`` from a ``{"image": ..., "label": ...}`` mapping or a pair."""
    if isinstance(data, Mapping):
        return np.asarray(data[input_key]), np.asarray(data[label_key]).reshape(-1)
    inputs, labels = data
    return np.asarray(inputs), np.asarray(labels).reshape(-1)


class KnnEvaluator:
    """Weighted cosine kNN accuracy of test embeddings against train embeddings.

    train_data / test_data: ``{"image": [N, ...], "label": int [N]}`` or ``(images, labels)``.
    Yields ``("knn_accuracy", float)``.
    """

    def __init__(self, embed_fn: EmbedFn, *, train_data, test_data, num_classes: int,
                 k: int = 20, temperature: float = 0.07, weighting: str = "distance",
                 batch_size: int = 256):
        self.embed_fn = embed_fn
        self.train_inputs, self.train_labels = split_data(train_data)
        self.test_inputs, self.test_labels = split_data(test_data)
        self.num_classes, self.k, self.temperature = num_classes, k, temperature
        self.weighting, self.batch_size = weighting, batch_size

    def run(self, model) -> Iterator[tuple[str, float]]:
        train = embed_dataset(self.embed_fn, model, self.train_inputs, batch_size=self.batch_size)
        test = embed_dataset(self.embed_fn, model, self.test_inputs, batch_size=self.batch_size)
        yield "knn_accuracy", knn_accuracy(
            train, self.train_labels, test, self.test_labels, num_classes=self.num_classes,
            k=self.k, temperature=self.temperature, weighting=self.weighting)


class LinearProbeEvaluator:
    """Linear-probe accuracy (``linear_probe``: L2 chosen on a split of train, refit, test).

    Yields ``linear_probe_accuracy``, ``linear_probe_l2``, ``linear_probe_val_accuracy``.
    """

    def __init__(self, embed_fn: EmbedFn, *, train_data, test_data, num_classes: int,
                 l2_grid: Sequence[float] = DEFAULT_L2_GRID, val_fraction: float = 0.1,
                 seed: int = 0, standardize: bool = True, batch_size: int = 256):
        self.embed_fn = embed_fn
        self.train_inputs, self.train_labels = split_data(train_data)
        self.test_inputs, self.test_labels = split_data(test_data)
        self.num_classes, self.batch_size = num_classes, batch_size
        self.options = dict(l2_grid=tuple(l2_grid), val_fraction=val_fraction, seed=seed,
                            standardize=standardize)

    def run(self, model) -> Iterator[tuple[str, float]]:
        train = embed_dataset(self.embed_fn, model, self.train_inputs, batch_size=self.batch_size)
        test = embed_dataset(self.embed_fn, model, self.test_inputs, batch_size=self.batch_size)
        result = linear_probe(train, self.train_labels, test, self.test_labels,
                              num_classes=self.num_classes, **self.options)
        yield "linear_probe_accuracy", result["accuracy"]
        yield "linear_probe_l2", result["l2"]
        yield "linear_probe_val_accuracy", result["val_accuracy"]


class ZeroShotEvaluator:
    """CLIP zero-shot accuracy: images vs. embedded class prompts.

    images: [N, ...]; labels: int [N]; class_texts: token ids ``[C, L]`` (one prompt per
    class) or ``[C, T, L]`` (T templates per class, averaged as in ``zero_shot``).
    Yields ``zero_shot_accuracy`` and ``zero_shot_top{k}_accuracy`` for each extra k in ``ks``.
    """

    def __init__(self, embed_image_fn: EmbedFn, embed_text_fn: EmbedFn, *, images, labels,
                 class_texts, ks: Sequence[int] = (1,), batch_size: int = 256):
        self.embed_image_fn, self.embed_text_fn = embed_image_fn, embed_text_fn
        self.images, self.labels = np.asarray(images), np.asarray(labels).reshape(-1)
        self.class_texts = np.asarray(class_texts)
        self.ks, self.batch_size = tuple(ks), batch_size

    def run(self, model) -> Iterator[tuple[str, float]]:
        images = embed_dataset(self.embed_image_fn, model, self.images, batch_size=self.batch_size)
        leading = self.class_texts.shape[:-1]  # [C] or [C, T]
        flat = self.class_texts.reshape(-1, self.class_texts.shape[-1])
        texts = embed_dataset(self.embed_text_fn, model, flat, batch_size=self.batch_size)
        texts = texts.reshape(*leading, texts.shape[-1])
        for k in self.ks:
            name = "zero_shot_accuracy" if k == 1 else f"zero_shot_top{k}_accuracy"
            yield name, zero_shot_accuracy(images, self.labels, texts, k=k)


class RetrievalEvaluator:
    """Image<->text Recall@K. images: [I, ...]; texts: token ids [T, L]; image_ids: int [T],
    the image each text describes (default text i describes image i).

    Yields ``i2t_recall@K`` and ``t2i_recall@K`` for K in ``ks``.
    """

    def __init__(self, embed_image_fn: EmbedFn, embed_text_fn: EmbedFn, *, images, texts,
                 image_ids=None, ks: Sequence[int] = (1, 5, 10), batch_size: int = 256):
        self.embed_image_fn, self.embed_text_fn = embed_image_fn, embed_text_fn
        self.images, self.texts = np.asarray(images), np.asarray(texts)
        self.image_ids = None if image_ids is None else np.asarray(image_ids)
        self.ks, self.batch_size = tuple(ks), batch_size

    def run(self, model) -> Iterator[tuple[str, float]]:
        images = embed_dataset(self.embed_image_fn, model, self.images, batch_size=self.batch_size)
        texts = embed_dataset(self.embed_text_fn, model, self.texts, batch_size=self.batch_size)
        recalls = retrieval_recall(images, texts, ks=self.ks, image_ids=self.image_ids)
        yield from recalls.items()
