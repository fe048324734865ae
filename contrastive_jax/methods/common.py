"""Pieces shared by the method families: view handling, target networks, queues, checks.

Target networks (MoCo, BYOL, DirectPred) keep their weights as arrays in ``method_state``: a
module is evaluated with other weights by ``with_params`` (split, swap the ``nnx.Param`` leaves,
merge into a fresh module whose variables are not shared with the online model). The EMA update
``ema(target, online, m)`` runs inside ``loss`` and sees the online weights as the loss sees
them, i.e. *before* this step's optimizer update (see ``methods.momentum`` for the ordering).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax.methods.base import Method, build_encoder, center_pixels, images_to_unit_range
from contrastive_jax.methods.options import PredictorOptions, ProjectorOptions
from contrastive_jax.models import LinearPredictor, PredictorMLP, ProjectionMLP

__all__ = ["EncoderWithProjector", "embedding_std", "build_projected_model", "build_predictor",
           "views_of", "forward_views", "param_arrays", "with_params", "ema", "cosine_momentum",
           "enqueue", "init_queue", "check_queue_size"]


# --- models -------------------------------------------------------------------------------


class EncoderWithProjector(nnx.Module):
    """``encoder`` (the representation) -> ``projector`` (where the loss is applied) -> an
    optional ``predictor`` (BYOL, SimSiam, MoCo v3, NNCLR).

    ``__call__(x, train) -> (features, z)`` is the online branch without the predictor.
    """

    def __init__(self, encoder: nnx.Module, projector: nnx.Module,
                 predictor: nnx.Module | None = None):
        self.encoder = encoder
        self.projector = projector
        self.predictor = predictor

    def __call__(self, x: jax.Array, *, train: bool) -> tuple[jax.Array, jax.Array]:
        features = self.encoder(x, train=train)
        return features, self.projector(features, train=train)

    def branch(self) -> EncoderWithProjector:
        """The encoder + projector as one module (what a momentum target copies)."""
        return EncoderWithProjector(self.encoder, self.projector)


def embedding_std(z: jax.Array) -> jax.Array:
    """Mean per-dimension std of L2-normalized embeddings: ~1/sqrt(D) healthy, 0 collapsed."""
    z = z / jnp.linalg.norm(z, axis=-1, keepdims=True).clip(1e-12)
    return z.std(axis=0).mean()


def build_projector(options: ProjectorOptions, in_dim: int, rngs: nnx.Rngs) -> ProjectionMLP:
    """``ProjectionMLP(in_dim -> proj_hidden_dim x (proj_layers - 1) -> proj_dim)``."""
    return ProjectionMLP(in_dim, hidden_dim=options.proj_hidden_dim, out_dim=options.proj_dim,
                         num_layers=options.proj_layers, last_norm=options.proj_last_norm,
                         norm=options.proj_norm, rngs=rngs)


def build_projected_model(options: ProjectorOptions, encoder_config, image_shape,
                          rng: jax.Array, *, predictor: str | None = None
                          ) -> EncoderWithProjector:
    """Encoder, projector and, if ``predictor`` names one, the predictor (see
    ``build_predictor``); all parameters drawn from ``rng`` in that order."""
    rngs = nnx.Rngs(params=rng)
    encoder = build_encoder(encoder_config, image_shape, rngs)
    projector = build_projector(options, encoder.feature_dim, rngs)
    head = None if predictor is None else build_predictor(predictor, options, rngs)
    return EncoderWithProjector(encoder, projector, head)


def build_predictor(kind: str, options: PredictorOptions, rngs: nnx.Rngs):
    """"mlp" (``pred_hidden_dim`` wide), "linear" (a trained ``[proj_dim, proj_dim]`` map,
    Tian et al. 2021) or "none" (no predictor: None)."""
    dim = options.proj_dim
    if kind == "mlp":
        return PredictorMLP(dim, hidden_dim=options.pred_hidden_dim, rngs=rngs)
    return LinearPredictor(dim, rngs=rngs) if kind == "linear" else None


# --- views --------------------------------------------------------------------------------


def views_of(method: Method, batch: dict, rng: jax.Array, count: int | None = None):
    """The first ``count`` (all if None) augmented views of ``batch["image"]``, centred."""
    views = method.make_views(rng, images_to_unit_range(batch["image"]))
    views = views if count is None else views[:count]
    return [center_pixels(v) for v in views]


def forward_views(fn: Callable, views: Sequence[jax.Array]) -> list:
    """``fn`` on every view, one call per distinct view shape (multi-crop resolutions).

    Views of one shape are concatenated so BatchNorm statistics span all of them, as in SwAV's
    per-resolution forward passes. fn: x [n*B, h, w, C] -> pytree of [n*B, ...] arrays.
    Returns one output pytree per view, in order.
    """
    outputs = [None] * len(views)
    for shape in dict.fromkeys(v.shape for v in views):
        indices = [i for i, v in enumerate(views) if v.shape == shape]
        result = fn(jnp.concatenate([views[i] for i in indices]))
        for position, index in enumerate(indices):
            outputs[index] = jax.tree.map(
                lambda y: jnp.split(y, len(indices))[position], result)
    return outputs


# --- target networks ------------------------------------------------------------------------


def param_arrays(module: nnx.Module):
    """The ``nnx.Param`` leaves of ``module`` as a pure array pytree (stop-gradient)."""
    return jax.lax.stop_gradient(nnx.as_pure(nnx.state(module, nnx.Param)))


def with_params(module: nnx.Module, params) -> nnx.Module:
    """A fresh copy of ``module`` with weights ``params`` (and a copy of its other state).

    Nothing is shared with ``module``: running it in train mode leaves its BatchNorm statistics
    untouched.
    """
    graphdef, _, rest = nnx.split(module, nnx.Param, ...)
    return nnx.merge(graphdef, params, nnx.as_pure(rest))


def ema(target, online, momentum: jax.Array):
    """``target <- m * target + (1 - m) * online`` leaf-wise; online is stop-gradient."""
    online = jax.lax.stop_gradient(online)
    return jax.tree.map(lambda t, o: momentum * t + (1.0 - momentum) * o, target, online)


def cosine_momentum(step: jax.Array, total_steps: int, base: float) -> jax.Array:
    """BYOL's schedule ``1 - (1 - base) (cos(pi k / K) + 1) / 2``: base at k = 0, 1 at k = K."""
    progress = jnp.clip(step / max(total_steps, 1), 0.0, 1.0)
    return 1.0 - (1.0 - base) * (jnp.cos(math.pi * progress) + 1.0) / 2.0


# --- queues ---------------------------------------------------------------------------------


def init_queue(rng: jax.Array, size: int, dim: int) -> jax.Array:
    """[size, dim] random unit rows (MoCo's initial queue)."""
    queue = jax.random.normal(rng, (size, dim))
    return queue / jnp.linalg.norm(queue, axis=-1, keepdims=True)


def enqueue(queue: jax.Array, pointer: jax.Array, items: jax.Array):
    """Write ``items`` [B, D] at rows ``pointer .. pointer + B`` (oldest first out).

    Requires ``K % B == 0`` (checked at build time), so a write never wraps.
    Returns ``(queue, (pointer + B) % K)``.
    """
    items = jax.lax.stop_gradient(items).astype(queue.dtype)
    queue = jax.lax.dynamic_update_slice(queue, items, (pointer, 0))
    return queue, (pointer + items.shape[0]) % queue.shape[0]


# --- checks that need the run's sizes (raised when the method is built) -------------------


def check_queue_size(queue_size: int, batch_size: int, name: str = "queue_size") -> int:
    if queue_size < batch_size or queue_size % batch_size:
        raise ValueError(
            f"config.method.{name}={queue_size} must be a positive multiple of the global "
            f"batch size config.batch_size={batch_size} (the whole batch is enqueued each "
            f"step), e.g. {batch_size * max(1, queue_size // batch_size)}.")
    return int(queue_size)
