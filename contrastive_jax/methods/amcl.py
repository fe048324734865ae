"""AMCL on SimCLR (``losses.amcl``) and on MoCo v3 (``losses.amcl_info_nce``): C projection
heads and pair-adaptive temperatures from a shared temperature network.

"Adaptive Multi-head Contrastive Learning", Wang et al., 2023 (ECCV 2024). The model is an
encoder, C independent projection MLPs (SimCLR's projector, replicated) and one temperature
network ``phi`` (Linear(D, H) - ReLU - Linear(H, D), H = D by default, shared by the heads) on
each head's unit projections; the temperature of a pair is
``tau_min + (tau_max - tau_min) sigmoid(-phi(z_a) . phi(z_b))``, as in the released code
(``LeiWangR/cl``, ``amcl/losses.py``).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import Method, build_encoder
from contrastive_jax.methods.batch_loss import DENSE_FORMS, batch_loss
from contrastive_jax.methods.common import (
    EncoderWithProjector, build_projector, embedding_std, param_arrays, views_of)
from contrastive_jax.methods.momentum import MomentumMethod
from contrastive_jax.methods.options import (
    BatchLossOptions, MethodOptions, MomentumOptions, ProjectorOptions)
from contrastive_jax.models import PredictorMLP


@dataclasses.dataclass(frozen=True, kw_only=True)
class AMCLFields(MethodOptions):
    """AMCL's keys: ``num_heads`` projection heads, the temperature network's
    ``temperature_hidden_dim`` (0: ``proj_dim``), the regularizer weight ``beta``, the
    temperature range ``(tau_min, tau_max)`` and ``top_k`` negatives (the released defaults:
    3 heads, 0.01, (1e-5, 2.0), 100)."""

    num_heads: int = 3
    temperature_hidden_dim: int = 0
    beta: float = 0.01
    tau_min: float = 1e-5
    tau_max: float = 2.0
    top_k: int = 100

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "num_heads", "top_k")
        self.check_at_least(0, "temperature_hidden_dim")
        self.check("beta", lambda v: v >= 0, ">= 0")
        self.check_positive("tau_min")
        self.check("tau_max", lambda v: v > self.tau_min, f"> tau_min={self.tau_min}")
        if isinstance(self, BatchLossOptions):
            self.reject_blockwise("AMCL", "its negative term is a mean over the top-k most "
                                  "similar negatives, not a log-sum-exp")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AMCLOptions(ProjectorOptions, BatchLossOptions, AMCLFields):
    """SimCLR + AMCL: the projector (replicated ``num_heads`` times), AMCL's keys
    (``AMCLFields``) and ``cross_device`` ("global" or "all_gather"; no blockwise form)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoCoV3AMCLOptions(MomentumOptions, BatchLossOptions, AMCLFields):
    """MoCo v3 + AMCL: the EMA target's options, the predictor's ``pred_hidden_dim`` (one
    predictor per head), AMCL's keys and ``cross_device`` ("global" or "all_gather")."""

    pred_hidden_dim: int

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "pred_hidden_dim")


class MultiHeadProjector(nnx.Module):
    """C independent projection MLPs on the same features: x [B, F] -> [B, C * D] (head-major)."""

    def __init__(self, options: ProjectorOptions, in_dim: int, num_heads: int, rngs: nnx.Rngs):
        self.heads = nnx.List([build_projector(options, in_dim, rngs) for _ in range(num_heads)])

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        return jnp.concatenate([head(x, train=train) for head in self.heads], axis=-1)


class TemperatureNetwork(nnx.Module):
    """AMCL's shared ``phi``: Linear(D, H) - ReLU - Linear(H, D); x [..., D] -> [..., D]."""

    def __init__(self, dim: int, hidden_dim: int, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(dim, hidden_dim, rngs=rngs)
        self.output = nnx.Linear(hidden_dim, dim, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.output(nnx.relu(self.hidden(x)))


class PerHead(nnx.Module):
    """Module c on head c of x [N, C * D] (head-major), e.g. one predictor per head."""

    def __init__(self, modules: list):
        self.modules = nnx.List(modules)

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        chunks = jnp.split(x, len(self.modules), axis=-1)
        return jnp.concatenate([m(c, train=train) for m, c in zip(self.modules, chunks)], -1)


class AMCLModel(EncoderWithProjector):
    """Encoder -> multi-head projector (-> per-head predictor), plus the temperature network
    ``temperature_net``."""

    def __init__(self, encoder, projector, temperature_net, predictor=None):
        super().__init__(encoder, projector, predictor)
        self.temperature_net = temperature_net


def split_heads(z: jax.Array, num_heads: int) -> tuple[jax.Array, jax.Array]:
    """[N, C D] head-major -> (heads [C, N, D], unit heads)."""
    heads = jnp.moveaxis(z.reshape(z.shape[0], num_heads, -1), 1, 0)
    return heads, heads / jnp.linalg.norm(heads, axis=-1, keepdims=True).clip(1e-12)


class SimCLRAMCL(Method):
    """Options: ``AMCLOptions``. SimCLR's two views; ``L = losses.amcl(z1, z2, phi1, phi2)``
    with ``z: [C, B, D]`` the heads' projections and ``phi`` the temperature network on them.
    The representation (``embed``) is the encoder's, as in SimCLR."""

    options_type = AMCLOptions
    min_views = 2

    @classmethod
    def loss_forms(cls, options):
        return DENSE_FORMS

    def init(self, rng, example_batch):
        o = self.options
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.encoder_config, self.image_shape, rngs)
        projector = MultiHeadProjector(o, encoder.feature_dim, o.num_heads, rngs)
        phi = TemperatureNetwork(o.proj_dim, o.temperature_hidden_dim or o.proj_dim, rngs)
        return AMCLModel(encoder, projector, phi), {}

    def loss(self, model, method_state, batch, rng):
        o = self.options
        x = jnp.concatenate(views_of(self, batch, rng, 2))
        z = model(x, train=True)[1]  # [2B, C D]
        heads, unit = split_heads(z, o.num_heads)  # [C, 2B, D]
        phi = model.temperature_net(unit)
        z1, z2 = jnp.split(heads, 2, axis=1)
        phi1, phi2 = jnp.split(phi, 2, axis=1)
        loss_fn = functools.partial(losses.amcl, beta=o.beta, tau_min=o.tau_min,
                                    tau_max=o.tau_max, top_k=o.top_k)
        loss = batch_loss(loss_fn, (z1, z2, phi1, phi2), options=o, batch_dim=1)
        tau = losses.amcl_temperature(phi1, phi2, tau_min=o.tau_min, tau_max=o.tau_max)
        metrics = {"loss": loss, "embedding_std": embedding_std(heads[0]),
                   "positive_temperature": jnp.mean(tau)}
        return loss, (metrics, method_state)


class MoCoV3AMCL(MomentumMethod):
    """Options: ``MoCoV3AMCLOptions``. MoCo v3 with C heads: the online encoder -> C projectors
    -> C predictors gives queries, the momentum target's C projections the keys, and
    ``L = (amcl_info_nce(q1, k2) + amcl_info_nce(q2, k1)) / 2`` (the released code averages
    the two directions). method_state: {"target", "step"}.
    """

    options_type = MoCoV3AMCLOptions

    @classmethod
    def loss_forms(cls, options):
        return DENSE_FORMS

    def init(self, rng, example_batch):
        o = self.options
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.encoder_config, self.image_shape, rngs)
        projector = MultiHeadProjector(o, encoder.feature_dim, o.num_heads, rngs)
        phi = TemperatureNetwork(o.proj_dim, o.temperature_hidden_dim or o.proj_dim, rngs)
        predictor = PerHead([PredictorMLP(o.proj_dim, hidden_dim=o.pred_hidden_dim, rngs=rngs)
                             for _ in range(o.num_heads)])
        model = AMCLModel(encoder, projector, phi, predictor)
        return model, {"target": param_arrays(model.branch()), "step": jnp.zeros((), jnp.int32)}

    def loss(self, model, method_state, batch, rng):
        o = self.options
        x = jnp.concatenate(views_of(self, batch, rng, 2))
        _, z = model(x, train=True)
        queries, unit_q = split_heads(model.predictor(z, train=True), o.num_heads)
        target_params, k, momentum = self.target_projections(model, method_state, x)
        keys, unit_k = split_heads(k, o.num_heads)
        phi_q, phi_k = model.temperature_net(unit_q), model.temperature_net(unit_k)
        q1, q2 = jnp.split(queries, 2, axis=1)
        k1, k2 = jnp.split(keys, 2, axis=1)
        pq1, pq2 = jnp.split(phi_q, 2, axis=1)
        pk1, pk2 = jnp.split(phi_k, 2, axis=1)
        amcl = functools.partial(losses.amcl_info_nce, beta=o.beta, tau_min=o.tau_min,
                                 tau_max=o.tau_max, top_k=o.top_k)

        def symmetric(q1, q2, k1, k2, pq1, pq2, pk1, pk2, **kwargs):
            return (amcl(q1, k2, pq1, pk2, **kwargs) + amcl(q2, k1, pq2, pk1, **kwargs)) / 2

        loss = batch_loss(symmetric, (q1, q2, k1, k2, pq1, pq2, pk1, pk2), options=o,
                          batch_dim=1)
        metrics = {"loss": loss, "momentum": momentum, "embedding_std": embedding_std(z),
                   "positive_temperature": jnp.mean(losses.amcl_temperature(
                       pq1, pk2, tau_min=o.tau_min, tau_max=o.tau_max))}
        return loss, (metrics, self.advance(method_state, target_params))
