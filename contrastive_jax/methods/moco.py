"""MoCo v2 (momentum key encoder + a queue of negatives), MoCHi (hard negative mixing on top of
MoCo v2) and MoCo v3 (momentum encoder + predictor, symmetric in-batch InfoNCE, no queue).

Papers: "Momentum Contrast for Unsupervised Visual Representation Learning", He et al., 2020;
"Improved Baselines with Momentum Contrastive Learning" (MoCo v2), Chen et al., 2020;
"Hard Negative Mixing for Contrastive Learning", Kalantidis et al., 2020;
"An Empirical Study of Training Self-Supervised Vision Transformers" (MoCo v3), Chen et al., 2021.

The batch is global (one jitted step over every device), so BatchNorm statistics are global, the
SimCLR remedy for the BN information leak that MoCo fixes with shuffled BN; the whole global batch
of keys is enqueued each step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.losses import queue_info_nce
from contrastive_jax.methods.common import (
    check_queue_size, embedding_std, enqueue, init_queue, views_of)
from contrastive_jax.methods.momentum import MomentumMethod


class MoCoV2(MomentumMethod):
    """config.method: temperature (0.2), base_momentum (0.999), momentum_schedule ("constant"),
    queue_size (a multiple of config.batch_size), proj_hidden_dim, proj_dim, proj_layers.

    method_state: {"target", "step", "queue": unit keys [K, D], "pointer": int32 []}.
    Asymmetric as in the paper: queries from view 1, keys from view 2.
    """

    uses_predictor = False

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        check_queue_size(config.method.queue_size, config.batch_size)

    def extra_state(self, model, rng):
        method_config = self.config.method
        return {"queue": init_queue(rng, method_config.queue_size, method_config.proj_dim),
                "pointer": jnp.zeros((), jnp.int32)}

    def hard_negatives(self, query, queue, rng):
        """Per-query extra negatives [B, S, D], or None (MoCo v2 has none)."""
        return None

    def loss(self, model, method_state, batch, rng):
        view_rng, mix_rng = jax.random.split(rng)
        view1, view2 = views_of(self, batch, view_rng, 2)
        _, query = model(view1, train=True)
        target_params, key, momentum = self.target_projections(model, method_state, view2)
        key = key / jnp.linalg.norm(key, axis=-1, keepdims=True).clip(1e-12)
        queue = method_state["queue"]
        extra = self.hard_negatives(query, queue, mix_rng)
        loss = queue_info_nce(query, key, queue, extra, temperature=self.config.method.temperature)
        queue, pointer = enqueue(queue, method_state["pointer"], key)
        metrics = {"loss": loss, "momentum": momentum, "embedding_std": embedding_std(query)}
        return loss, (metrics, self.advance(method_state, target_params, queue=queue,
                                            pointer=pointer))


class MoCHi(MoCoV2):
    """MoCo v2 plus per-query synthetic hard negatives (``losses.mochi_negatives``).

    config.method: MoCo v2's keys plus num_hard (N <= queue_size), num_mix_negatives (s),
    num_mix_query (s').
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        method_config = config.method
        if not 1 <= method_config.num_hard <= method_config.queue_size:
            raise ValueError(f"config.method.num_hard={method_config.num_hard} must be in "
                             f"[1, queue_size={method_config.queue_size}].")
        if method_config.num_mix_negatives < 0 or method_config.num_mix_query < 0:
            raise ValueError("config.method.num_mix_negatives and num_mix_query must be >= 0.")

    def hard_negatives(self, query, queue, rng):
        method_config = self.config.method
        return losses.mochi_negatives(
            query, queue, rng, num_hard=method_config.num_hard,
            num_mix_negatives=method_config.num_mix_negatives,
            num_mix_query=method_config.num_mix_query)


class MoCoV3(MomentumMethod):
    """config.method: temperature (0.2), base_momentum (0.99, cosine to 1), proj_hidden_dim,
    proj_dim, proj_layers (3), proj_last_norm (True), pred_hidden_dim.

    ``L = 2 t [info_nce(q1, k2) + info_nce(q2, k1)]`` with in-batch negatives (the factor 2t is
    the official code's scaling). method_state: {"target", "step"}.
    """

    def loss(self, model, method_state, batch, rng):
        x = jnp.concatenate(views_of(self, batch, rng, 2))
        _, z = model(x, train=True)
        q1, q2 = jnp.split(model.predictor(z, train=True), 2)
        target_params, k, momentum = self.target_projections(model, method_state, x)
        k1, k2 = jnp.split(k, 2)
        temperature = self.config.method.temperature
        loss = 2.0 * temperature * (losses.info_nce(q1, k2, temperature=temperature)
                                    + losses.info_nce(q2, k1, temperature=temperature))
        metrics = {"loss": loss, "momentum": momentum, "embedding_std": embedding_std(z)}
        return loss, (metrics, self.advance(method_state, target_params))
