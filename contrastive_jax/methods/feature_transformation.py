"""MoCo v2 with feature transformation: positive extrapolation and negative interpolation of the
queue (``losses.feature_transformation_info_nce``).

"Improving Contrastive Learning by Visualizing Feature Transformation", Zhu et al., 2021 (ICCV).
The paper builds on MoCo (v1 and v2); here MoCo v2's queue, momentum key encoder and asymmetric
loss (queries from view 1, keys from view 2) are unchanged and only the features entering the
loss are transformed, with one draw of ``l``, ``m`` and the queue permutation per step.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.common import embedding_std, enqueue, views_of
from contrastive_jax.methods.moco import MoCoV2, MoCoV2Options


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoCoV2FTOptions(MoCoV2Options):
    """MoCo v2's options plus the Beta parameters ``pos_alpha`` and ``neg_alpha`` (> 0; the
    released defaults 2.0 and 1.6) and ``extrapolate`` (True: ``l = 1 + Beta``)."""

    pos_alpha: float = 2.0
    neg_alpha: float = 1.6
    extrapolate: bool = True

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("pos_alpha", "neg_alpha")


class MoCoV2FT(MoCoV2):
    """Options: ``MoCoV2FTOptions``. method_state as MoCo v2's; the queue receives the
    untransformed keys (the released code enqueues the gathered keys before mixing)."""

    options_type = MoCoV2FTOptions

    def loss(self, model, method_state, batch, rng):
        view_rng, mix_rng = jax.random.split(rng)
        view1, view2 = views_of(self, batch, view_rng, 2)
        _, query = model(view1, train=True)
        target_params, key, momentum = self.target_projections(model, method_state, view2)
        key = key / jnp.linalg.norm(key, axis=-1, keepdims=True).clip(1e-12)
        queue = method_state["queue"]
        o = self.options
        lam, mu, partner = losses.feature_transformation_draws(
            mix_rng, queue.shape[0], pos_alpha=o.pos_alpha, neg_alpha=o.neg_alpha,
            extrapolate=o.extrapolate)
        loss = losses.feature_transformation_info_nce(query, key, queue, lam, mu, partner,
                                                      temperature=o.temperature)
        queue, pointer = enqueue(queue, method_state["pointer"], key)
        metrics = {"loss": loss, "momentum": momentum, "embedding_std": embedding_std(query),
                   "positive_mix": lam, "negative_mix": mu}
        return loss, (metrics, self.advance(method_state, target_params, queue=queue,
                                            pointer=pointer))
