"""Triplet margin loss on (optionally normalized) embeddings."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def triplet_margin(anchor: jax.Array, positive: jax.Array, negative: jax.Array, *,
                   margin: float = 0.2, normalize: bool = True) -> jax.Array:
    """``L = mean_i max(0, ||a_i - p_i||^2 - ||a_i - n_i||^2 + margin)``

    Squared Euclidean distances; with ``normalize`` the embeddings are on the unit sphere, as in
    FaceNet (whose margin is 0.2).

    Args:
      anchor: [B, D] anchors.
      positive: [B, D] one positive per anchor.
      negative: [B, D] one negative per anchor.
      margin: required gap between the two squared distances (default 0.2).
      normalize: L2-normalize the inputs first (default True).

    Returns:
      Scalar float32 loss (>= 0).

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.triplet_margin(z1, z2, z2[::-1])):.4f}")
      0.0667

    Paper: "FaceNet: A Unified Embedding for Face Recognition and Clustering", Schroff et al., 2015.
    """
    a = _common.prepare(anchor, normalize)
    p = _common.prepare(positive, normalize)
    n = _common.prepare(negative, normalize)
    d_positive = jnp.sum((a - p) ** 2, axis=-1)
    d_negative = jnp.sum((a - n) ** 2, axis=-1)
    return jnp.mean(jax.nn.relu(d_positive - d_negative + margin))
