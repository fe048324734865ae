"""Per-class, head and tail accuracy, for runs trained on a long-tailed set.

With training class counts ``n_c`` (``data.imbalance``), classes are ranked by ``n_c``
(descending; ties by class index); the **head** is the most frequent ``round(C / 3)`` classes
(at least one), the **tail** the least frequent ``round(C / 3)``. Head and tail accuracy are
the means of those classes' accuracies on the (balanced) held-out split, so each class
weighs the same whatever its number of test examples.
"""

from __future__ import annotations

import numpy as np


def per_class_accuracy(predictions, labels, num_classes: int) -> np.ndarray:
    """float64 [C]: the fraction of class ``c``'s examples predicted as ``c`` (NaN for a class
    with no example). predictions, labels: int [N]."""
    predictions = np.asarray(predictions).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    correct = np.bincount(labels, weights=(predictions == labels), minlength=num_classes)
    total = np.bincount(labels, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / np.maximum(total, 1), np.nan)


def head_tail_classes(class_counts) -> tuple[np.ndarray, np.ndarray]:
    """``(head, tail)`` class indices from training class counts (module docstring)."""
    counts = np.asarray(class_counts)
    order = np.lexsort((np.arange(len(counts)), -counts))  # by count desc, then index
    size = max(1, int(round(len(counts) / 3)))
    return np.sort(order[:size]), np.sort(order[-size:])


def per_class_scores(prefix: str, predictions, labels, *, num_classes: int,
                     class_counts) -> dict[str, float]:
    """``{prefix}_class{c}`` for every class, ``{prefix}_head`` and ``{prefix}_tail``."""
    accuracy = per_class_accuracy(predictions, labels, num_classes)
    head, tail = head_tail_classes(class_counts)
    scores = {f"{prefix}_class{c}": float(a) for c, a in enumerate(accuracy)}
    scores[f"{prefix}_head"] = float(np.nanmean(accuracy[head]))
    scores[f"{prefix}_tail"] = float(np.nanmean(accuracy[tail]))
    return scores
