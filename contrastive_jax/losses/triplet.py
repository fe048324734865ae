"""Triplet margin loss on (optionally normalized) embeddings."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def triplet_margin(anchor, positive, negative, *, margin=0.2, normalize=True):
    """``L = mean_i max(0, ||a_i - p_i||^2 - ||a_i - n_i||^2 + margin)``

    Squared Euclidean distances; with ``normalize`` the embeddings are on the unit sphere, as in
    FaceNet (whose margin is 0.2). Shapes: anchor, positive, negative: [B, D]. Returns a scalar.

    Paper: "FaceNet: A Unified Embedding for Face Recognition and Clustering", Schroff et al., 2015.
    """
    a = _common.prepare(anchor, normalize)
    p = _common.prepare(positive, normalize)
    n = _common.prepare(negative, normalize)
    d_positive = jnp.sum((a - p) ** 2, axis=-1)
    d_negative = jnp.sum((a - n) ** 2, axis=-1)
    return jnp.mean(jax.nn.relu(d_positive - d_negative + margin))
