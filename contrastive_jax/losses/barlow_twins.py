"""Barlow Twins: make the cross-correlation of the two views' embeddings the identity."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def _standardize(z, eps, axis_name):
    """Per-dimension zero mean and unit (biased) variance over the global batch, as BatchNorm."""
    centered = _common.batch_centered(z, axis_name)
    variance = _common.global_mean(jnp.mean(centered * centered, axis=0), axis_name)
    return centered * jax.lax.rsqrt(variance + eps)


def barlow_twins(z1: jax.Array, z2: jax.Array, *, lambda_: float = 5e-3, eps: float = 1e-5,
                 axis_name: str | None = None) -> jax.Array:
    """``L = sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2``, ``C = z1n^T z2n / N``.

    ``z1n, z2n`` are the views standardized per dimension over the batch (biased variance plus
    ``eps``, an affine-free BatchNorm as in the reference code). Summed over dimensions, not
    averaged. N = 1 gives C = 0 and L = D.

    Args:
      z1: [N, D] embeddings of the first views.
      z2: [N, D] embeddings of the second views.
      lambda_: weight of the off-diagonal (redundancy) term (default 5e-3, the paper's).
      eps: added to the variance before standardizing (default 1e-5).
      axis_name: mesh axis inside ``jax.shard_map``; means, variances and C use the global batch. None (default): one device.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.barlow_twins(z1, z2)):.4f}")
      0.0017

    Paper: "Barlow Twins: Self-Supervised Learning via Redundancy Reduction", Zbontar et al., 2021.
    """
    a, b = _standardize(z1, eps, axis_name), _standardize(z2, eps, axis_name)
    count = _common.global_count(a.shape[0], axis_name)
    c = _common.global_sum(a.T @ b, axis_name) / count
    diagonal = jnp.diagonal(c)
    on_diagonal = jnp.sum((1.0 - diagonal) ** 2)
    off_diagonal = jnp.sum(c * c) - jnp.sum(diagonal * diagonal)
    return on_diagonal + lambda_ * off_diagonal
