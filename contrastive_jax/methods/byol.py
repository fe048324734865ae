"""BYOL: predict a momentum target network's projection of the other view.

"Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning", Grill et al., 2020
(NeurIPS). Online ``encoder -> projector -> predictor``, target = EMA of ``encoder -> projector``
with a cosine momentum schedule from ``base_momentum`` (0.996) to 1. Symmetrized loss
``L = ||n(p1) - n(t2)||^2 + ||n(p2) - n(t1)||^2 = 4 + 2 [negcos(p1, t2) + negcos(p2, t1)]``.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.common import embedding_std, views_of
from contrastive_jax.methods.momentum import MomentumMethod
from contrastive_jax.methods.options import MomentumOptions, PredictorOptions


@dataclasses.dataclass(frozen=True, kw_only=True)
class BYOLOptions(MomentumOptions, PredictorOptions):
    """The EMA target's options plus the predictor's (pred_hidden_dim, predictor "mlp" |
    "linear" | "none": the ablations of Tian et al., 2021)."""


class BYOL(MomentumMethod):
    """Options: ``BYOLOptions``.

    method_state: {"target": EMA weights of encoder + projector, "step": int32 []}.
    """

    options_type = BYOLOptions

    def predictor_kind(self):
        return self.options.predictor

    def predict(self, model, method_state, z):
        """``(p [2B, D], state updates)``: the online prediction of the target projection
        (``z`` itself without a predictor)."""
        if model.predictor is None:
            return z, {}
        return model.predictor(z, train=True), {}

    def loss(self, model, method_state, batch, rng):
        # Both views in one forward pass: BatchNorm statistics span the 2B views.
        x = jnp.concatenate(views_of(self, batch, rng, 2))
        _, z = model(x, train=True)
        p, updates = self.predict(model, method_state, z)
        target_params, t, momentum = self.target_projections(model, method_state, x)
        p1, p2 = jnp.split(p, 2)
        t1, t2 = jnp.split(t, 2)
        loss = 4.0 + 2.0 * (losses.negative_cosine(p1, t2) + losses.negative_cosine(p2, t1))
        metrics = {"loss": loss, "momentum": momentum, "embedding_std": embedding_std(z)}
        return loss, (metrics, self.advance(method_state, target_params, **updates))
