"""Negative cosine similarity to a stop-gradient target (BYOL / SimSiam)."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def negative_cosine(prediction, target):
    """``L = -mean_i cos(p_i, stop_gradient(z_i))``: predict the (fixed) target embedding.

    Shapes: prediction, target: [B, D]. Returns a scalar in [-1, 1]; no gradient reaches
    ``target``. BYOL writes the same objective as ``||p/|p| - z/|z|||^2 = 2 - 2 cos``, which is
    ``2 + 2 * negative_cosine``; SimSiam symmetrizes it over the two views (call it twice).

    Papers: "Bootstrap Your Own Latent", Grill et al., 2020; "Exploring Simple Siamese
    Representation Learning", Chen & He, 2021.
    """
    p = _common.l2_normalize(prediction)
    z = _common.l2_normalize(jax.lax.stop_gradient(target))
    return -jnp.mean(jnp.sum(p * z, axis=-1))
