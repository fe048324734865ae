"""SwAV's prototype layer: K learnable unit vectors, scored by cosine similarity.

"Unsupervised Learning of Visual Features by Contrasting Cluster Assignments", Caron et al.,
2020 (NeurIPS). The paper L2-normalizes the prototype matrix in place before every step, so
the scores are cosines and the gradient is taken at the normalized point. Functionally,
``__call__`` normalizes the rows in the forward pass with a straight-through gradient (the
gradient with respect to the normalized rows is applied to the stored rows), and
``normalize_prototypes()`` renormalizes the stored rows in place (e.g. after an update).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def l2_normalize_rows(x: jax.Array, eps: float = 1e-12) -> jax.Array:
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), eps)


class Prototypes(nnx.Module):
    """weight: [K, D] (rows L2-normalized at init). z: [B, D] -> scores [B, K] = n(z) n(C)^T."""

    def __init__(self, dim: int, num_prototypes: int, *, rngs: nnx.Rngs):
        if num_prototypes < 1:
            raise ValueError(f"SwAV needs num_prototypes >= 1, got {num_prototypes}.")
        weight = jax.random.normal(rngs.params(), (num_prototypes, dim))
        self.weight = nnx.Param(l2_normalize_rows(weight))

    def normalized_weight(self) -> jax.Array:
        """[K, D] unit rows; gradients pass to the stored rows unchanged (straight-through)."""
        weight = self.weight[...]
        return weight + jax.lax.stop_gradient(l2_normalize_rows(weight) - weight)

    def normalize_prototypes(self) -> None:
        """Renormalize the stored rows in place (the paper's per-step normalization)."""
        self.weight[...] = l2_normalize_rows(self.weight[...])

    def __call__(self, z: jax.Array) -> jax.Array:
        return l2_normalize_rows(z) @ self.normalized_weight().T
