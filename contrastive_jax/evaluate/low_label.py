"""Low-label probes: a linear probe and a kNN classifier fit on ``k`` labelled examples per
class, averaged over ``R`` seeded draws of those examples (the semi-supervised evaluation of
SimCLR, Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
2020, Section 4.3 / Table 7, and of DCL's low-label comparisons, here as a frozen-feature
probe rather than fine-tuning).

Protocol, for each draw ``r`` in ``0..R-1``: ``rng = numpy.random.default_rng([seed, r])``
shuffles each class's train indices once; the ``k``-shot set is the first ``k`` of every
class, so the sets of one draw are nested (the 1-shot examples are among the 5-shot ones).

* linear probe: ``fit_linear_model`` (standardized on the drawn rows, our objective
  ``mean CE + l2/2 ||W||^2``, i.e. scikit-learn's ``LogisticRegression(C=1 / (l2 * k * C))``)
  with a fixed ``l2`` (``k = 1`` leaves nothing to choose it on), scored on the whole
  held-out split;
* kNN: ``knn_accuracy`` (weighted cosine, ``min(knn_k, k * C)`` neighbours) against the
  drawn rows.

A class with fewer than ``k`` train examples gives NaN for that ``k`` (reported, never a
crash after training). Keys: ``low_label_probe_{k}shot`` and ``low_label_knn_{k}shot`` (mean
over draws) and ``..._std`` (sample std over draws, 0 for one draw).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from contrastive_jax.evaluate.knn import knn_accuracy
from contrastive_jax.evaluate.labels import check_labels
from contrastive_jax.evaluate.linear_probe import accuracy, fit_linear_model

DEFAULT_SHOTS = (1, 5, 10, 100)
DEFAULT_L2 = 1e-2


def draw_shots(labels, shots: Sequence[int], *, num_classes: int, seed: int, draw: int
               ) -> dict[int, np.ndarray | None]:
    """``{k: sorted train indices, k per class}`` of one draw (nested over ``k``); ``None``
    for a ``k`` some class cannot supply."""
    labels = check_labels(labels, num_classes, "train labels")
    rng = np.random.default_rng([seed, draw])
    orders = [rng.permutation(np.flatnonzero(labels == c)) for c in range(num_classes)]
    smallest = min(len(order) for order in orders)
    return {int(k): (np.sort(np.concatenate([order[:k] for order in orders]))
                     if k <= smallest else None) for k in shots}


def low_label_scores(train_features, train_labels, test_features, test_labels, *,
                     num_classes: int, shots: Sequence[int] = DEFAULT_SHOTS, draws: int = 5,
                     seed: int = 0, l2: float = DEFAULT_L2, max_iter: int = 1000,
                     knn_k: int = 20, knn_temperature: float = 0.07) -> dict[str, float]:
    """The low-label probe and kNN accuracies (module docstring) of frozen features.

    train_features: [N, D]; train_labels: int [N]; test_features: [M, D]; test_labels: [M].
    """
    if draws < 1 or not shots or min(shots) < 1:
        raise ValueError(f"low-label probes need draws >= 1 and shots >= 1, got draws={draws}, "
                         f"shots={tuple(shots)}")
    train_features = np.asarray(train_features, np.float32)
    train_labels = check_labels(train_labels, num_classes, "train labels")
    test_labels = check_labels(test_labels, num_classes, "test labels")
    probe = {int(k): [] for k in shots}
    knn = {int(k): [] for k in shots}
    for draw in range(draws):
        drawn = draw_shots(train_labels, shots, num_classes=num_classes, seed=seed, draw=draw)
        available = [index for index in drawn.values() if index is not None]
        # Every k-shot set of a draw lies in its largest one: fit each as a mask over that set,
        # so the probe compiles once per feature size, not once per k.
        largest = max(available, key=len) if available else None
        for k, index in drawn.items():
            if index is None:
                probe[k].append(np.nan)
                knn[k].append(np.nan)
                continue
            mask = np.isin(largest, index).astype(np.float32)
            model = fit_linear_model(train_features[largest], train_labels[largest],
                                     num_classes=num_classes, l2=l2, mask=mask,
                                     max_iter=max_iter)
            probe[k].append(accuracy(model, test_features, test_labels))
            knn[k].append(knn_accuracy(train_features[index], train_labels[index],
                                       test_features, test_labels, num_classes=num_classes,
                                       k=min(knn_k, len(index)), temperature=knn_temperature))
    scores = {}
    for name, per_k in (("probe", probe), ("knn", knn)):
        for k, values in per_k.items():
            values = np.asarray(values, np.float64)
            scores[f"low_label_{name}_{k}shot"] = float(values.mean())
            scores[f"low_label_{name}_{k}shot_std"] = (
                float(values.std(ddof=1)) if len(values) > 1 else 0.0)
    return scores
