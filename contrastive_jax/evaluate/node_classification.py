"""Node-level evaluation of a graph's node embeddings: the linear probe over random node
splits, and k-means clustering scored by NMI / ARI.

The probe follows the standard protocol of node-level graph contrastive learning (GRACE, Zhu
et al. 2020, and the papers after it): a random 10% / 10% / 80% train / validation / test split
of the nodes, a multinomial logistic regression fitted on the train nodes (features
standardized with the train nodes' statistics; ``evaluate.linear_probe.fit_linear_model``), the
L2 weight chosen from a grid by validation accuracy (ties to the stronger weight), test
accuracy reported; repeated over 20 seeded split draws, mean and std. Clustering runs
scikit-learn's ``KMeans`` (k = the number of classes, 10 initialisations, seeded) on the
embeddings and scores the partition against the labels with NMI and ARI.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from contrastive_jax.evaluate.linear_probe import accuracy, fit_linear_model


def probe_split(features: np.ndarray, labels: np.ndarray, split, *, num_classes: int,
                l2_grid: Sequence[float], max_iter: int = 200) -> tuple[float, float]:
    """``(test accuracy, chosen l2)`` of one ``(train, val, test)`` node split."""
    train, val, test = split
    mask = np.zeros(len(labels), np.float32)
    mask[train] = 1.0
    best, model = None, None
    for l2 in sorted((float(v) for v in l2_grid), reverse=True):
        model = fit_linear_model(features, labels, num_classes=num_classes, l2=l2, mask=mask,
                                 init=model, max_iter=max_iter)
        val_accuracy = accuracy(model, features[val], labels[val])
        if best is None or val_accuracy > best[0]:
            best = (val_accuracy, l2, accuracy(model, features[test], labels[test]))
    return best[2], best[1]


def node_probe(features: np.ndarray, labels: np.ndarray, splits, *, num_classes: int,
               l2_grid: Sequence[float], max_iter: int = 200) -> dict:
    """The probe over every split of ``splits`` (``(train, val, test)`` index arrays):
    ``{"linear_probe": mean test accuracy, "linear_probe_std": std over the draws,
    "linear_probe_draws": [accuracy per draw], "linear_probe_l2": [chosen l2 per draw]}``."""
    features = np.asarray(features, np.float32)
    labels = np.asarray(labels, np.int32)
    if not np.isfinite(features).all():
        raise ValueError("node probe got non-finite node features.")
    results = [probe_split(features, labels, split, num_classes=num_classes, l2_grid=l2_grid,
                           max_iter=max_iter) for split in splits]
    accuracies = [float(a) for a, _ in results]
    return {"linear_probe": float(np.mean(accuracies)),
            "linear_probe_std": float(np.std(accuracies)),
            "linear_probe_draws": accuracies, "linear_probe_l2": [l2 for _, l2 in results]}


def kmeans_scores(features: np.ndarray, labels: np.ndarray, *, num_clusters: int,
                  seed: int = 0) -> dict:
    """``{"nmi", "ari"}`` of scikit-learn ``KMeans(num_clusters, n_init=10)`` on ``features``
    against ``labels``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    assignments = KMeans(n_clusters=num_clusters, n_init=10, random_state=seed).fit_predict(
        np.asarray(features, np.float64))
    return {"nmi": float(normalized_mutual_info_score(labels, assignments)),
            "ari": float(adjusted_rand_score(labels, assignments))}
