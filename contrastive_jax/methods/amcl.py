"""AMCL on SimCLR: C projection heads and pair-adaptive temperatures from a shared temperature
network (``losses.amcl``).

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
    EncoderWithProjector, build_projector, embedding_std, views_of)
from contrastive_jax.methods.options import BatchLossOptions, ProjectorOptions


@dataclasses.dataclass(frozen=True, kw_only=True)
class AMCLOptions(ProjectorOptions, BatchLossOptions):
    """The projector (replicated ``num_heads`` times), the temperature network's
    ``temperature_hidden_dim`` (0: ``proj_dim``), the regularizer weight ``beta``, the
    temperature range ``(tau_min, tau_max)`` and ``top_k`` negatives (the released defaults:
    3 heads, 0.01, (1e-5, 2.0), 100), and ``cross_device`` ("global" or "all_gather"; no
    blockwise form)."""

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
        self.reject_blockwise("AMCL", "its negative term is a mean over the top-k most similar "
                              "negatives, not a log-sum-exp")


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


class AMCLModel(EncoderWithProjector):
    """Encoder -> multi-head projector, plus the temperature network ``temperature_net``."""

    def __init__(self, encoder, projector, temperature_net):
        super().__init__(encoder, projector)
        self.temperature_net = temperature_net


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
        heads = jnp.moveaxis(z.reshape(z.shape[0], o.num_heads, o.proj_dim), 1, 0)  # [C, 2B, D]
        unit = heads / jnp.linalg.norm(heads, axis=-1, keepdims=True).clip(1e-12)
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
