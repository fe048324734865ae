"""Features of streamed splits: embed batch by batch, keep only ``[N, D]`` float32 on the host.

A *split* is given as batches, ``Iterable[(batch, num_valid)]`` (what
``data.pipeline.make_eval_loader`` yields), or a callable returning a fresh such iterable, so
it can be read again (once per encoder). ``batch`` is a dict of arrays whose rows after the
first ``num_valid`` are padding.

``embed_fn(model, batch) -> (features [B, D], labels [B])`` embeds one batch; ``model`` is
passed through untouched (an NNX module, a train state, parameters). A caller on several
devices or processes makes ``embed_fn`` place the batch sharded over its mesh and return the
*global* batch's features and labels on every process; here nothing knows about meshes, and
nothing imports the train library. Memory: the images of one batch at a time, never of a
whole split.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np

Batches = Iterable[tuple[Mapping[str, Any], int]]
EmbedFn = Callable[[Any, Mapping[str, Any]], tuple[Any, Any]]


def batches_of(split) -> Batches:
    """A fresh iterable of ``(batch, num_valid)`` from a split given as one or as a callable."""
    return split() if callable(split) else split


def embed_split(embed_fn: EmbedFn, model, batches) -> tuple[np.ndarray, np.ndarray]:
    """``(features float32 [N, D], labels int32 [N])`` of every valid row of ``batches``
    (float32 labels when the batches' labels are floats: regression targets).

    Each batch's outputs past ``num_valid`` (padding) are dropped; features are flattened to
    ``[B, D]``. Raises on a split with no rows.
    """
    features, labels = [], []
    for batch, num_valid in batches_of(batches):
        embedded, batch_labels = embed_fn(model, batch)
        embedded = np.asarray(embedded, np.float32)
        features.append(embedded.reshape(len(embedded), -1)[:num_valid])
        batch_labels = np.asarray(batch_labels)  # float regression targets stay float
        batch_labels = batch_labels.astype(
            np.float32 if np.issubdtype(batch_labels.dtype, np.floating) else np.int32)
        labels.append(batch_labels.reshape(-1)[:num_valid])
    if not features:
        raise ValueError("embed_split got no batches: the split is empty.")
    return np.concatenate(features), np.concatenate(labels)


class SplitFeatures:
    """One encoder's features of each split, embedded on first use and then reused.

    splits: ``{name: batches or callable}``. ``features[name] -> (features [N, D],
    labels [N])``. The kNN, linear probe and diagnostics of one encoder share one instance,
    so each split is embedded once per encoder however many evaluators read it.
    """

    def __init__(self, embed_fn: EmbedFn, model, splits: Mapping[str, Any]):
        self.embed_fn, self.model, self.splits = embed_fn, model, dict(splits)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __getitem__(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        if split not in self._cache:
            if split not in self.splits:
                raise KeyError(f"no split {split!r}; splits: {sorted(self.splits)}.")
            self._cache[split] = embed_split(self.embed_fn, self.model, self.splits[split])
        return self._cache[split]

    def all_finite(self, *names: str) -> bool:
        """Whether the features of every named split are finite (a diverged encoder is not)."""
        return all(np.isfinite(self[name][0]).all() for name in names)


class RelabeledFeatures:
    """The features of another ``SplitFeatures`` with other labels: ``labels[split]`` int [N]
    (in the order of the split's rows), e.g. a textured source's texture labels, so a probe
    of a second label reuses the embedding of the first."""

    def __init__(self, features: SplitFeatures, labels: Mapping[str, np.ndarray]):
        self.features, self.labels = features, dict(labels)

    def __getitem__(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        embedded, _ = self.features[split]
        labels = np.asarray(self.labels[split], np.int32).reshape(-1)
        if len(labels) != len(embedded):
            raise ValueError(f"{len(labels)} labels for {len(embedded)} rows of split {split!r}")
        return embedded, labels

    def all_finite(self, *names: str) -> bool:
        return self.features.all_finite(*names)


def array_batches(arrays: Mapping[str, np.ndarray], batch_size: int):
    """In-memory arrays as ``(batch, num_valid)`` batches of exactly ``batch_size`` rows, the
    last padded by repeating its final row (for small inputs such as class prompts)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    num = len(next(iter(arrays.values())))
    for start in range(0, num, batch_size):
        valid = min(batch_size, num - start)
        rows = np.minimum(np.arange(start, start + batch_size), start + valid - 1)
        yield {key: value[rows] for key, value in arrays.items()}, valid


def embed_dataset(embed_fn, model, inputs, *, batch_size: int) -> np.ndarray:
    """``embed_fn(model, x) -> [B, D]`` over in-memory ``inputs: [N, ...]`` in batches of
    exactly ``batch_size`` (the last padded, its padding dropped). float32 [N, D] on the host.
    For arrays already in memory (notebooks, prompts); splits of a source go through
    ``embed_split`` with ``make_eval_loader``."""
    inputs = np.asarray(inputs)
    if len(inputs) == 0:
        raise ValueError("embed_dataset got no inputs")
    batches = array_batches({"input": inputs, "label": np.zeros(len(inputs), np.int32)},
                            batch_size)
    return embed_split(lambda m, batch: (embed_fn(m, batch["input"]), batch["label"]),
                       model, batches)[0]


def with_labels(embed_fn, *, input_key: str = "image", label_key: str = "label") -> EmbedFn:
    """``embed_fn(model, inputs) -> [B, D]`` as ``(model, batch) -> (features, labels)`` on
    one process (a batch dict holds the whole global batch there)."""
    return lambda model, batch: (embed_fn(model, batch[input_key]), batch[label_key])
