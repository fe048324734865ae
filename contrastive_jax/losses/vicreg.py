"""VICReg: variance-invariance-covariance regularization."""

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


def vicreg(z1, z2, *, sim_weight=25.0, var_weight=25.0, cov_weight=1.0, eps=1e-4, axis_name=None):
    """``L = lambda * MSE(z1, z2) + mu * [v(z1) + v(z2)] / 2 + nu * [c(z1) + c(z2)]``

    with ``v(z) = mean_d relu(1 - sqrt(Var(z_d) + eps))`` and
    ``c(z) = sum_{i != j} Cov(z)_ij^2 / D`` (unbiased batch statistics, divided by N - 1; a single
    example has zero variance and covariance). MSE is the mean over all N x D entries.
    (lambda, mu, nu) = (sim_weight, var_weight, cov_weight) = (25, 25, 1) as in the paper.

    Shapes: z1, z2: [N, D]. Returns a scalar. ``axis_name``: statistics over the global batch.

    Paper: "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning",
    Bardes et al., 2022 (ICLR).
    """
    diff = _common.upcast(z1) - _common.upcast(z2)
    invariance = _common.global_mean(jnp.mean(diff * diff), axis_name)
    v1, c1 = _variance_and_covariance_terms(z1, eps, axis_name)
    v2, c2 = _variance_and_covariance_terms(z2, eps, axis_name)
    return (sim_weight * invariance + var_weight * (v1 + v2) / 2.0
            + cov_weight * (c1 + c2))
