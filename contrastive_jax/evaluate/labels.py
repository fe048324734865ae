"""Validation of class labels handed to the evaluators."""

from __future__ import annotations

import numpy as np


def check_labels(labels, num_classes: int, name: str = "labels") -> np.ndarray:
    """``labels`` as int64 [N], or ``ValueError`` unless every label lies in [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes}), got values in "
                         f"[{labels.min()}, {labels.max()}]; check num_classes or the dataset")
    return labels
