"""Long-tailed training sets from any labelled source (``config.dataset.imbalance``).

The exponential profile of the long-tailed CIFAR benchmarks (Cui et al., "Class-Balanced Loss
Based on Effective Number of Samples", 2019; Cao et al., "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", 2019), over classes ``c = 0..C-1`` in index order:

    n_c = floor(n_max * ratio ** (-c / (C - 1))),   at least 1,

so class 0 keeps ``n_max`` examples and class ``C-1`` keeps ``n_max / ratio``. ``n_max`` is the
smallest class count of the source, so every class can supply its quota and the ratio is
exact (up to the floor). Which examples of a class are kept is drawn by
``numpy.random.default_rng([seed, crc32("imbalance")])``: the same seed keeps the same subset
in every cell of a table (paired seeds), another seed another one.

Only the *training* set of a run is made long-tailed (``train.build.build_parts``); the probes
read the full, balanced train split and the held-out split stays balanced, so per-class, head
and tail accuracies compare like with like (``evaluate.per_class``).
"""

from __future__ import annotations

import zlib

import numpy as np

STREAM = zlib.crc32(b"imbalance")


def source_labels(source) -> np.ndarray:
    """int64 [N] labels of a source, without decoding images where it can."""
    labels = getattr(source, "labels", None)
    if labels is None and hasattr(source, "as_arrays"):
        labels = source.as_arrays()["label"]
    if labels is None:
        labels = [source[i]["label"] for i in range(len(source))]
    return np.asarray(labels).astype(np.int64).reshape(-1)


def exponential_counts(max_count: int, num_classes: int, ratio: float) -> np.ndarray:
    """int64 [C]: ``floor(max_count * ratio ** (-c / (C - 1)))``, at least 1."""
    if ratio < 1:
        raise ValueError(f"imbalance ratio must be >= 1 (1: balanced), got {ratio}")
    if num_classes < 2:
        return np.full((num_classes,), max_count, np.int64)
    exponents = -np.arange(num_classes) / (num_classes - 1)
    # The small epsilon keeps exact products (e.g. 400 / 10 = 40) from flooring to 39.
    counts = np.floor(max_count * float(ratio) ** exponents + 1e-9).astype(np.int64)
    return np.maximum(counts, 1)


class LongTailedSource:
    """A subset of ``base`` (same records, same ``info``) whose class counts follow
    ``exponential_counts``. ``class_counts``: int64 [C], the kept examples per class;
    ``indices``: the kept records of ``base``, sorted. Other attributes (e.g. a captions
    source's ``prompts``) are the base's."""

    def __init__(self, base, *, ratio: float, seed: int = 0):
        self.base, self.ratio = base, float(ratio)
        self.info = base.info
        labels = source_labels(base)
        num_classes = base.info.num_classes
        available = np.bincount(labels, minlength=num_classes)
        if available.min() == 0:
            raise ValueError(f"{base.info.name}: class {int(available.argmin())} has no "
                             f"training examples; a long-tailed subset needs every class.")
        self.class_counts = exponential_counts(int(available.min()), num_classes, ratio)
        rng = np.random.default_rng([seed, STREAM])
        kept = [rng.permutation(np.flatnonzero(labels == c))[:n]
                for c, n in enumerate(self.class_counts)]
        self.indices = np.sort(np.concatenate(kept))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return self.base[int(self.indices[index])]

    def __getattr__(self, name):
        if name in ("base", "indices", "__setstate__"):  # unpickling: not yet set
            raise AttributeError(name)
        if name == "lazy_record":  # indexed like __getitem__, present only if the base has it
            getattr(self.base, name)
            return self._lazy_record
        return getattr(self.base, name)

    def _lazy_record(self, index: int):
        return self.base.lazy_record(int(self.indices[index]))

    @property
    def labels(self) -> np.ndarray:
        return source_labels(self.base)[self.indices]

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {key: value[self.indices] for key, value in self.base.as_arrays().items()}

    def __repr__(self) -> str:
        return (f"LongTailedSource({self.base!r}, ratio={self.ratio:g}, "
                f"counts={self.class_counts.tolist()})")


def long_tailed(source, *, ratio: float, seed: int = 0):
    """``source`` itself for ``ratio == 1``, else its ``LongTailedSource``."""
    if float(ratio) == 1.0:
        return source
    return LongTailedSource(source, ratio=ratio, seed=seed)
