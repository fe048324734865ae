"""Negative cosine similarity to a stop-gradient target (BYOL / SimSiam)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def negative_cosine(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """``L = -mean_i cos(p_i, stop_gradient(z_i))``: predict the (fixed) target embedding.

    No gradient reaches ``target``. BYOL writes the same objective as ``||p/|p| - z/|z|||^2 =
    2 - 2 cos``, which is ``2 + 2 * negative_cosine``; SimSiam symmetrizes it over the two views
    (call it twice).

    Args:
      prediction: [B, D] predictor outputs.
      target: [B, D] target embeddings (treated as constants).

    Returns:
      Scalar float32 loss in [-1, 1].

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.negative_cosine(z1, z2)):.4f}")
      -0.9875

    Papers: "Bootstrap Your Own Latent", Grill et al., 2020; "Exploring Simple Siamese
    Representation Learning", Chen & He, 2021.
    """
    p = _common.l2_normalize(prediction)
    z = _common.l2_normalize(jax.lax.stop_gradient(target))
    return -jnp.mean(jnp.sum(p * z, axis=-1))
