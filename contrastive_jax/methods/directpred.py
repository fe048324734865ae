"""DirectPred: BYOL whose linear predictor is set from the eigendecomposition of its inputs'
correlation instead of being trained.

"Understanding self-supervised Learning Dynamics without Contrastive Pairs", Tian, Chen and
Ganguli, 2021 (ICML). With ``F = rho F + (1 - rho) E[f f^T]`` the running (uncentred)
correlation of the predictor inputs f (projections of both views) and ``F = U diag(s) U^T``,
the predictor is ``W_p = U diag(p) U^T`` with ``p_j = sqrt(s_j / max_i s_i) + eps``
(eigenvalues clipped at 0, p clipped at 1e-4). The predictor and F live in method_state: no
gradient reaches them. F is updated with the current batch before W_p is built and used.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from contrastive_jax.methods.byol import BYOL
from contrastive_jax.methods.options import MomentumOptions


@dataclasses.dataclass(frozen=True, kw_only=True)
class DirectPredOptions(MomentumOptions):
    """The EMA target's options plus ``rho`` (the correlation EMA, in [0, 1)) and ``eps``
    (added to the predictor's eigenvalues' square roots)."""

    rho: float
    eps: float

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.rho < 1.0:
            raise ValueError(f"config.method.rho (the correlation EMA) must be in [0, 1), got "
                             f"{self.rho}.")
        self.check("eps", lambda v: v >= 0, ">= 0")


def directpred_weights(correlation: jax.Array, *, eps: float) -> jax.Array:
    """W_p [D, D] from a symmetric PSD correlation [D, D] (see the module docstring)."""
    eigenvalues, eigenvectors = jnp.linalg.eigh(correlation.astype(jnp.float32))
    eigenvalues = jnp.clip(eigenvalues, 0.0)
    scaled = eigenvalues / jnp.maximum(jnp.max(eigenvalues), 1e-12)
    p = jnp.maximum(jnp.sqrt(scaled) + eps, 1e-4)
    return (eigenvectors * p) @ eigenvectors.T


class DirectPred(BYOL):
    """Options: ``DirectPredOptions`` (BYOL's without the trained predictor's keys).

    method_state: BYOL's plus {"predictor": W_p [D, D], "correlation": F [D, D]}.
    """

    options_type = DirectPredOptions

    def predictor_kind(self):
        return None

    def extra_state(self, model, rng):
        dim = self.options.proj_dim
        return {"predictor": jnp.eye(dim, dtype=jnp.float32),
                "correlation": jnp.zeros((dim, dim), jnp.float32)}

    def predict(self, model, method_state, z):
        f = jax.lax.stop_gradient(z).astype(jnp.float32)
        batch_correlation = f.T @ f / f.shape[0]
        rho = self.options.rho
        correlation = jnp.where(method_state["step"] == 0, batch_correlation,
                                rho * method_state["correlation"] + (1.0 - rho) * batch_correlation)
        predictor = directpred_weights(correlation, eps=self.options.eps)
        return z @ predictor.T, {"predictor": predictor, "correlation": correlation}
