"""VICReg: variance-invariance-covariance regularization."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def _variance_and_covariance_terms(z, eps, axis_name):
    """Hinge on the per-dimension std and the squared off-diagonal covariance / D of one branch."""
    centered = _common.batch_centered(z, axis_name)
    denominator = max(_common.global_count(centered.shape[0], axis_name) - 1, 1)
    cov = _common.global_sum(centered.T @ centered, axis_name) / denominator
    variance = jnp.diagonal(cov)
    std_hinge = jnp.mean(jax.nn.relu(1.0 - jnp.sqrt(variance + eps)))
    off_diagonal = (jnp.sum(cov * cov) - jnp.sum(variance * variance)) / cov.shape[0]
    return std_hinge, off_diagonal


def vicreg(z1: jax.Array, z2: jax.Array, *, sim_weight: float = 25.0, var_weight: float = 25.0,
           cov_weight: float = 1.0, eps: float = 1e-4, axis_name: str | None = None) -> jax.Array:
    """``L = lambda * MSE(z1, z2) + mu * [v(z1) + v(z2)] / 2 + nu * [c(z1) + c(z2)]``

    with ``v(z) = mean_d relu(1 - sqrt(Var(z_d) + eps))`` and
    ``c(z) = sum_{i != j} Cov(z)_ij^2 / D`` (unbiased batch statistics, divided by N - 1; a single
    example has zero variance and covariance). MSE is the mean over all N x D entries.

    Args:
      z1: [N, D] embeddings of the first views.
      z2: [N, D] embeddings of the second views.
      sim_weight: lambda, weight of the invariance (MSE) term (default 25, the paper's).
      var_weight: mu, weight of the variance hinge (default 25).
      cov_weight: nu, weight of the covariance term (default 1).
      eps: added to the variance inside the square root (default 1e-4).
      axis_name: mesh axis inside ``jax.shard_map``; statistics over the global batch. None (default): one device.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.vicreg(z1, z2)):.4f}")
      12.8211

    Paper: "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning",
    Bardes et al., 2022 (ICLR).
    """
    diff = _common.upcast(z1) - _common.upcast(z2)
    invariance = _common.global_mean(jnp.mean(diff * diff), axis_name)
    v1, c1 = _variance_and_covariance_terms(z1, eps, axis_name)
    v2, c2 = _variance_and_covariance_terms(z2, eps, axis_name)
    return (sim_weight * invariance + var_weight * (v1 + v2) / 2.0
            + cov_weight * (c1 + c2))
