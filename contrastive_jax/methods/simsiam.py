"""SimSiam: a predictor and a stop-gradient, no negatives and no momentum encoder.

"Exploring Simple Siamese Representation Learning", Chen and He, 2021 (CVPR).
``L = 1/2 [negcos(p1, sg(z2)) + negcos(p2, sg(z1))]`` with ``z = projector(encoder(x))`` (a
3-layer projector with BatchNorm on its output) and ``p = predictor(z)`` (a bottleneck MLP).
"""

from __future__ import annotations

import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.base import Method
from contrastive_jax.methods.common import (
    build_siamese, check_num_views, check_predictor, embedding_std, views_of)


class SimSiam(Method):
    """config.method: proj_hidden_dim, proj_dim, proj_layers, proj_last_norm, pred_hidden_dim,
    predictor ("mlp" default | "linear" | "none": without one SimSiam collapses, Chen & He)."""

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        check_num_views(self, 2)
        check_predictor(config.method)

    def init(self, rng, example_batch):
        return build_siamese(self.config.method, self.config.encoder, self.image_shape, rng,
                             predictor=True), {}

    def loss(self, model, method_state, batch, rng):
        _, z = model(jnp.concatenate(views_of(self, batch, rng, 2)), train=True)
        p = z if model.predictor is None else model.predictor(z, train=True)
        z1, z2 = jnp.split(z, 2)
        p1, p2 = jnp.split(p, 2)
        loss = 0.5 * (losses.negative_cosine(p1, z2) + losses.negative_cosine(p2, z1))
        return loss, ({"loss": loss, "embedding_std": embedding_std(z)}, method_state)
