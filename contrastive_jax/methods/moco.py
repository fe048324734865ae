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

import dataclasses

import jax
import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.losses import queue_info_nce
from contrastive_jax.methods.batch_loss import ALL_FORMS, batch_loss
from contrastive_jax.methods.common import (
    check_queue_size, embedding_std, enqueue, init_queue, views_of)
from contrastive_jax.methods.momentum import MomentumMethod
from contrastive_jax.methods.options import (
    BatchLossOptions, MomentumOptions, TemperatureOptions)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoCoV2Options(MomentumOptions, TemperatureOptions):
    """The EMA key encoder's options, the temperature and ``queue_size`` (a multiple of the
    global batch, checked when the method is built)."""

    queue_size: int

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "queue_size")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoCHiOptions(MoCoV2Options):
    """MoCo v2's options plus num_hard (N, in [1, queue_size]), num_mix_negatives (s) and
    num_mix_query (s'), both >= 0."""

    num_hard: int
    num_mix_negatives: int
    num_mix_query: int

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "num_hard")
        if self.num_mix_negatives < 0 or self.num_mix_query < 0:
            raise ValueError("config.method.num_mix_negatives and num_mix_query must be >= 0.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoCoV3Options(MomentumOptions, TemperatureOptions, BatchLossOptions):
    """The EMA target's options, the temperature, the MLP predictor's ``pred_hidden_dim`` and
    how the in-batch InfoNCE is computed (``loss_block_size``, ``cross_device``)."""

    pred_hidden_dim: int

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "pred_hidden_dim")


class MoCoV2(MomentumMethod):
    """Options: ``MoCoV2Options`` (the paper: temperature 0.2, base_momentum 0.999 with the
    "constant" schedule).

    method_state: {"target", "step", "queue": unit keys [K, D], "pointer": int32 []}.
    Asymmetric as in the paper: queries from view 1, keys from view 2.
    """

    options_type = MoCoV2Options

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        check_queue_size(options.queue_size, self.batch_size)

    def extra_state(self, model, rng):
        return {"queue": init_queue(rng, self.options.queue_size, self.options.proj_dim),
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
        loss = queue_info_nce(query, key, queue, extra, temperature=self.options.temperature)
        queue, pointer = enqueue(queue, method_state["pointer"], key)
        metrics = {"loss": loss, "momentum": momentum, "embedding_std": embedding_std(query)}
        return loss, (metrics, self.advance(method_state, target_params, queue=queue,
                                            pointer=pointer))


class MoCHi(MoCoV2):
    """MoCo v2 plus per-query synthetic hard negatives (``losses.mochi_negatives``).

    Options: ``MoCHiOptions``.
    """

    options_type = MoCHiOptions

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)  # checks the queue against the batch first
        if not 1 <= options.num_hard <= options.queue_size:
            raise ValueError(f"config.method.num_hard={options.num_hard} must be in "
                             f"[1, queue_size={options.queue_size}].")

    def hard_negatives(self, query, queue, rng):
        options = self.options
        return losses.mochi_negatives(
            query, queue, rng, num_hard=options.num_hard,
            num_mix_negatives=options.num_mix_negatives, num_mix_query=options.num_mix_query)


class MoCoV3(MomentumMethod):
    """Options: ``MoCoV3Options`` (the paper: temperature 0.2, base_momentum 0.99 with the
    cosine schedule to 1, proj_layers 3, proj_last_norm True).

    ``L = 2 t [info_nce(q1, k2) + info_nce(q2, k1)]`` with in-batch negatives (the factor 2t is
    the official code's scaling). method_state: {"target", "step"}.
    """

    options_type = MoCoV3Options

    @classmethod
    def loss_forms(cls, options):
        return ALL_FORMS

    def predictor_kind(self):
        return "mlp"

    def symmetric_info_nce(self, q1, q2, k1, k2, **kwargs):
        """``2 t [info_nce(q1, k2) + info_nce(q2, k1)]``; kwargs: axis_name, block_size..."""
        temperature = self.options.temperature
        return 2.0 * temperature * (losses.info_nce(q1, k2, temperature=temperature, **kwargs)
                                    + losses.info_nce(q2, k1, temperature=temperature, **kwargs))

    def loss(self, model, method_state, batch, rng):
        x = jnp.concatenate(views_of(self, batch, rng, 2))
        _, z = model(x, train=True)
        q1, q2 = jnp.split(model.predictor(z, train=True), 2)
        target_params, k, momentum = self.target_projections(model, method_state, x)
        k1, k2 = jnp.split(k, 2)
        loss = batch_loss(self.symmetric_info_nce, (q1, q2, k1, k2), options=self.options)
        metrics = {"loss": loss, "momentum": momentum, "embedding_std": embedding_std(z)}
        return loss, (metrics, self.advance(method_state, target_params))
