"""Weighted cosine k-nearest-neighbour classification of frozen features.

The monitor used by InstDisc (Wu et al., "Unsupervised Feature Learning via Non-Parametric
Instance Discrimination", 2018) and DINO (Caron et al., "Emerging Properties in
Self-Supervised Vision Transformers", 2021): features are L2-normalized, each query takes its
``k`` most cosine-similar training points, and class ``c`` scores

    votes_c(q) = sum_{j in topk(q)} w_j [y_j = c],   w_j = exp(s_j / temperature)

(``weighting="distance"``) or ``w_j = 1`` (``weighting="uniform"``); the prediction is
``argmax_c votes_c`` (ties go to the smallest class index).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax.evaluate.labels import check_labels

WEIGHTINGS = ("distance", "uniform")
_HIGHEST = jax.lax.Precision.HIGHEST


def l2_normalize(x: jax.Array, *, axis: int = -1, eps: float = 1e-12) -> jax.Array:
    """``x / max(||x||, eps)`` along ``axis`` (a zero vector stays zero)."""
    norm = jnp.linalg.norm(x, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, eps)


@functools.partial(jax.jit, static_argnames=("num_classes", "k", "weighting"))
def knn_votes(train_normed: jax.Array, train_labels: jax.Array, query_normed: jax.Array, *,
              num_classes: int, k: int, temperature: float, weighting: str) -> jax.Array:
    """Class votes of one query batch.

    train_normed: [N, D] unit rows; train_labels: int [N]; query_normed: [Q, D] unit rows.
    Returns float32 [Q, num_classes].
    """
    similarity = jnp.matmul(query_normed, train_normed.T, precision=_HIGHEST)  # [Q, N]
    top_similarity, top_index = jax.lax.top_k(similarity, k)  # [Q, k], sorted descending
    top_labels = train_labels[top_index]
    if weighting == "distance":
        # Shifting by each query's best similarity rescales that query's votes by a positive
        # constant (argmax unchanged) and keeps exp finite for temperatures as low as 0.01.
        weights = jnp.exp((top_similarity - top_similarity[:, :1]) / temperature)
    else:
        weights = jnp.ones_like(top_similarity)
    one_hot = jax.nn.one_hot(top_labels, num_classes, dtype=jnp.float32)  # [Q, k, C]
    return jnp.einsum("qk,qkc->qc", weights, one_hot, precision=_HIGHEST)


def knn_predict(train_features, train_labels, query_features, *, num_classes: int, k: int = 20,
                temperature: float = 0.07, batch_size: int = 1024,
                weighting: str = "distance") -> np.ndarray:
    """Predicted labels int32 [Q] for ``query_features: [Q, D]`` from ``train_features: [N, D]``
    with integer ``train_labels: [N]`` in ``[0, num_classes)``.

    Queries run in batches of ``min(batch_size, Q)`` rows (the last batch padded), so one
    compiled program serves every batch and memory stays ``O(batch_size * N)``. ``k`` is
    clipped to ``N``.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    train_features = np.asarray(train_features, np.float32)
    queries = np.asarray(query_features, np.float32)
    if not (np.isfinite(train_features).all() and np.isfinite(queries).all()):
        raise ValueError("kNN got non-finite features")
    train_normed = l2_normalize(jnp.asarray(train_features))
    labels = jnp.asarray(check_labels(train_labels, num_classes, "train labels"), jnp.int32)
    num_queries = len(queries)
    if num_queries == 0:
        return np.zeros((0,), np.int32)
    k = max(1, min(int(k), train_normed.shape[0]))
    batch = max(1, min(int(batch_size), num_queries))
    padded = -(-num_queries // batch) * batch
    queries = np.pad(queries, ((0, padded - num_queries), (0, 0)))
    predictions = []
    for start in range(0, padded, batch):
        query_normed = l2_normalize(jnp.asarray(queries[start:start + batch]))
        votes = knn_votes(train_normed, labels, query_normed, num_classes=num_classes, k=k,
                          temperature=temperature, weighting=weighting)
        predictions.append(np.asarray(jnp.argmax(votes, axis=-1)))
    return np.concatenate(predictions)[:num_queries].astype(np.int32)


def knn_accuracy(train_features, train_labels, test_features, test_labels, *, num_classes: int,
                 k: int = 20, temperature: float = 0.07, batch_size: int = 1024,
                 weighting: str = "distance") -> float:
    """Fraction of ``test_features: [Q, D]`` whose kNN prediction equals ``test_labels: [Q]``."""
    test_labels = check_labels(test_labels, num_classes, "test labels")
    predictions = knn_predict(train_features, train_labels, test_features,
                              num_classes=num_classes, k=k, temperature=temperature,
                              batch_size=batch_size, weighting=weighting)
    return float(np.mean(predictions == np.asarray(test_labels).reshape(-1)))
