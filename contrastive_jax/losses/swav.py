"""SwAV: Sinkhorn-Knopp cluster assignments and the swapped-prediction loss."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def sinkhorn(scores: jax.Array, *, epsilon: float = 0.05, iterations: int = 3,
             axis_name: str | None = None) -> jax.Array:
    """Equipartitioned soft assignments of samples to prototypes (SwAV's Sinkhorn-Knopp).

    Starting from ``Q = exp(scores / epsilon)``, each iteration rescales every prototype column to
    the same total mass over the (global) batch, then every sample row to sum to 1. Runs in log
    space. With ``iterations=0`` this is ``softmax(scores / epsilon)``.

    Args:
      scores: [B, K] sample-prototype similarities.
      epsilon: entropy regularization; smaller gives harder codes (default 0.05).
      iterations: Sinkhorn-Knopp iterations (default 3).
      axis_name: mesh axis inside ``jax.shard_map``; the column normalization spans the batch of every device. None (default): one device.

    Returns:
      Q: [B, K] float32 codes, rows sum to 1, stop-gradient (codes are targets).

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> scores = jnp.array([[[0.9, 0.1], [0.2, 0.7], [0.5, 0.4]],
      ...                     [[0.8, 0.3], [0.1, 0.9], [0.6, 0.2]]])
      >>> codes = losses.sinkhorn(scores[0], epsilon=0.5)
      >>> print([[f"{q:.4f}" for q in row] for row in codes.tolist()])
      [['0.7925', '0.2075'], ['0.2210', '0.7790'], ['0.4850', '0.5150']]

    Paper: "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments",
    Caron et al., 2020 (NeurIPS).
    """
    log_q = jax.lax.stop_gradient(_common.upcast(scores)) / epsilon
    for _ in range(iterations):
        log_q = log_q - _common.global_logsumexp(log_q, 0, axis_name)
        log_q = log_q - jax.nn.logsumexp(log_q, axis=1, keepdims=True)
    return jax.lax.stop_gradient(jax.nn.softmax(log_q, axis=1))


def swav(scores: jax.Array, assign_from: Sequence[int], *, temperature: float = 0.1,
         epsilon: float = 0.05, iterations: int = 3, axis_name: str | None = None) -> jax.Array:
    """SwAV swapped prediction: predict crop c's Sinkhorn code from every other crop's scores.

    ``L = mean_{c in assign_from} mean_{v != c} mean_b [ -sum_k q_c[b, k] log softmax_k(scores[v, b] / t) ]``
    with ``q_c = sinkhorn(scores[c])`` (stop-gradient).

    Args:
      scores: [V, B, K] prototype scores of all V >= 2 crops (typically <z, c_k> of normalized
        features and prototypes).
      assign_from: crop indices whose codes are targets, e.g. (0, 1) for the two
        full-resolution crops.
      temperature: of the predicted softmax (default 0.1).
      epsilon: Sinkhorn's entropy regularization (default 0.05).
      iterations: Sinkhorn-Knopp iterations (default 3).
      axis_name: mesh axis inside ``jax.shard_map``; Sinkhorn normalizes over the global batch and the mean is global. None (default): one device.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> scores = jnp.array([[[0.9, 0.1], [0.2, 0.7], [0.5, 0.4]],
      ...                     [[0.8, 0.3], [0.1, 0.9], [0.6, 0.2]]])
      >>> print(f"{float(losses.swav(scores, (0, 1), epsilon=0.5)):.4f}")
      1.4484

    Paper: "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments",
    Caron et al., 2020 (NeurIPS).
    """
    num_crops = scores.shape[0]
    assign_from = tuple(assign_from)
    if num_crops < 2 or not assign_from or any(not 0 <= c < num_crops for c in assign_from):
        raise ValueError(
            f"swav needs scores [V >= 2, B, K] and crop indices in [0, V); got V={num_crops}, "
            f"assign_from={assign_from}.")
    x = _common.upcast(scores)
    log_p = jax.nn.log_softmax(x / temperature, axis=-1)
    per_crop = []
    for c in assign_from:
        q = sinkhorn(x[c], epsilon=epsilon, iterations=iterations, axis_name=axis_name)
        cross_entropy = -jnp.mean(jnp.sum(q[None] * log_p, axis=-1), axis=-1)  # [V]
        per_crop.append((jnp.sum(cross_entropy) - cross_entropy[c]) / (num_crops - 1))
    return _common.global_mean(jnp.mean(jnp.stack(per_crop)), axis_name)
