"""SimSiam: a predictor and a stop-gradient, no negatives and no momentum encoder.

"Exploring Simple Siamese Representation Learning", Chen and He, 2021 (CVPR).
``L = 1/2 [negcos(p1, sg(z2)) + negcos(p2, sg(z1))]`` with ``z = projector(encoder(x))`` (a
3-layer projector with BatchNorm on its output) and ``p = predictor(z)`` (a bottleneck MLP).
"""

from __future__ import annotations

import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.base import Method
from contrastive_jax.methods.common import build_projected_model, embedding_std, views_of
from contrastive_jax.methods.options import PredictorOptions


class SimSiam(Method):
    """Options: ``PredictorOptions`` (the projector's keys, pred_hidden_dim, predictor "mlp" |
    "linear" | "none": without one SimSiam collapses, Chen & He)."""

    options_type = PredictorOptions
    min_views = 2

    def init(self, rng, example_batch):
        return build_projected_model(self.options, self.encoder_config, self.image_shape, rng,
                                     predictor=self.options.predictor), {}

    def loss(self, model, method_state, batch, rng):
        _, z = model(jnp.concatenate(views_of(self, batch, rng, 2)), train=True)
        p = z if model.predictor is None else model.predictor(z, train=True)
        z1, z2 = jnp.split(z, 2)
        p1, p2 = jnp.split(p, 2)
        loss = 0.5 * (losses.negative_cosine(p1, z2) + losses.negative_cosine(p2, z1))
        return loss, ({"loss": loss, "embedding_std": embedding_std(z)}, method_state)
