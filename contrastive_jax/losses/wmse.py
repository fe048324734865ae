"""W-MSE: MSE between whitened, normalized embeddings of the two views."""

from __future__ import annotations

import jax.numpy as jnp
import jax.scipy.linalg

from contrastive_jax.losses import _common


def _whiten(z, eps, axis_name):
    """``L^-1 (z - mean)`` per row, ``L L^T = (1 - eps) Cov(z) + eps I`` (Cholesky whitening)."""
    centered = _common.batch_centered(z, axis_name)
    denominator = max(_common.global_count(centered.shape[0], axis_name) - 1, 1)
    cov = _common.global_sum(centered.T @ centered, axis_name) / denominator
    shrunk = (1.0 - eps) * cov + eps * jnp.eye(cov.shape[0], dtype=cov.dtype)
    lower = jnp.linalg.cholesky(shrunk)
    return jax.scipy.linalg.solve_triangular(lower, centered.T, lower=True).T


def wmse(z1: jax.Array, z2: jax.Array, *, eps: float = 1e-4,
         axis_name: str | None = None) -> jax.Array:
    """``L = mean_i || n(W1 (z1_i - m1)) - n(W2 (z2_i - m2)) ||^2 = 2 - 2 mean_i cos(w1_i, w2_i)``

    Each view's batch is whitened on its own: ``W = L^-1`` with ``L`` the Cholesky factor of the
    shrunk covariance ``(1 - eps) Cov + eps I`` (unbiased, divided by N - 1; the reference code's
    shrinkage), then L2-normalized (``n``). One whitening sub-batch, the whole batch: the paper's
    sub-batch splitting and repeated whitening iterations are left to the method. Whitening needs
    N > D to be meaningful; ``eps`` keeps the Cholesky finite otherwise. A single example whitens to
    0 and gives L = 0.

    Args:
      z1: [N, D] embeddings of the first views.
      z2: [N, D] embeddings of the second views.
      eps: covariance shrinkage towards the identity (default 1e-4).
      axis_name: mesh axis inside ``jax.shard_map``; mean and covariance over the global batch. None (default): one device.

    Returns:
      Scalar float32 loss in [0, 4].

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.wmse(z1, z2)):.4f}")
      0.0132

    Paper: "Whitening for Self-Supervised Representation Learning", Ermolov et al., 2021 (ICML).
    """
    w1 = _common.l2_normalize(_whiten(z1, eps, axis_name))
    w2 = _common.l2_normalize(_whiten(z2, eps, axis_name))
    per_pair = jnp.sum((w1 - w2) ** 2, axis=-1)
    return _common.global_mean(jnp.mean(per_pair), axis_name)
