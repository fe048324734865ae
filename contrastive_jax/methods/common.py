"""Pieces shared by the method families: view handling, target networks, queues, checks.

Target networks (MoCo, BYOL, DirectPred) keep their weights as arrays in ``method_state``: a
module is evaluated with other weights by ``with_params`` (split, swap the ``nnx.Param`` leaves,
merge into a fresh module whose variables are not shared with the online model). The EMA update
``ema(target, online, m)`` runs inside ``loss`` and sees the online weights as the loss sees
them, i.e. *before* this step's optimizer update (see ``methods.momentum`` for the ordering).
"""

from __future__ import annotations

import abc
import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
from flax import nnx

from contrastive_jax.methods.base import Method, build_encoder, center_pixels, images_to_unit_range
from contrastive_jax.methods.simclr import EncoderWithProjector, SimCLR, embedding_std
from contrastive_jax.models import LinearPredictor, PredictorMLP, ProjectionMLP

__all__ = ["EncoderWithProjector", "embedding_std", "SiameseModel", "ProjectedViews",
           "build_siamese", "views_of", "forward_views", "param_arrays", "with_params", "ema",
           "cosine_momentum", "enqueue", "init_queue", "check_momentum", "check_queue_size",
           "check_num_views", "num_views_of", "PREDICTORS", "check_predictor"]


# --- models -------------------------------------------------------------------------------


class SiameseModel(nnx.Module):
    """``encoder`` -> ``projector`` (the branch a target network copies) -> optional ``predictor``.

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


def build_siamese(method_config: ml_collections.ConfigDict, encoder_config, image_shape,
                  rng: jax.Array, *, predictor: bool) -> SiameseModel:
    """Encoder, projector (``proj_hidden_dim``, ``proj_dim``, ``proj_layers``, optional
    ``proj_last_norm``) and, if asked, the predictor named by ``method_config.predictor``
    (``"mlp"`` of width ``pred_hidden_dim`` by default; see ``check_predictor``)."""
    rngs = nnx.Rngs(params=rng)
    encoder = build_encoder(encoder_config, image_shape, rngs)
    projector = ProjectionMLP(
        encoder.feature_dim, hidden_dim=method_config.proj_hidden_dim,
        out_dim=method_config.proj_dim, num_layers=method_config.proj_layers,
        last_norm=method_config.get("proj_last_norm", False),
        norm=method_config.get("proj_norm", "batch"), rngs=rngs)
    head = build_predictor(method_config, rngs) if predictor else None
    return SiameseModel(encoder, projector, head)


PREDICTORS = ("mlp", "linear", "none")


def build_predictor(method_config: ml_collections.ConfigDict, rngs: nnx.Rngs):
    """``method_config.predictor``: "mlp" (default; ``pred_hidden_dim`` wide), "linear" (a
    trained ``[proj_dim, proj_dim]`` map, Tian et al. 2021) or "none" (no predictor: None)."""
    kind = check_predictor(method_config)
    dim = method_config.proj_dim
    if kind == "mlp":
        return PredictorMLP(dim, hidden_dim=method_config.pred_hidden_dim, rngs=rngs)
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


class ProjectedViews(SimCLR):
    """SimCLR's encoder + projector with another objective on the projected views.

    Subclasses set ``num_views`` (None: every view the augmentation makes) and implement
    ``objective(z: [V, B, D], batch) -> (loss, metrics)``. All views go through one forward
    pass (BatchNorm statistics span the V*B views), so they must share one shape. Objectives
    that need nothing from ``batch`` support GradCache (``loss_from_embeddings`` passes
    ``batch=None``); those that read it (labels) set ``supports_grad_cache = False``.
    """

    num_views: int | None = 2
    supports_grad_cache = True

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.view_count = check_num_views(self, 2)
        if self.num_views is not None:
            self.view_count = self.num_views

    @abc.abstractmethod
    def objective(self, z: jax.Array, batch: dict | None):
        """``z: [V, B, D]`` projected views -> ``(loss, metrics)``; each subclass's loss."""

    def encoder_inputs(self, batch, rng):
        """The V views stacked view-major: ``[V * B, H, W, C]``."""
        views = views_of(self, batch, rng, self.num_views)
        if len({v.shape for v in views}) > 1:
            raise ValueError(f"method {self.config.method.name!r} needs views of one shape, got "
                             f"{[v.shape for v in views]}; use an augmentation without "
                             f"multi-resolution crops.")
        return jnp.concatenate(views)

    def loss_from_embeddings(self, embeddings):
        return self.objective(self._by_view(embeddings), None)[0]

    def _by_view(self, embeddings: jax.Array) -> jax.Array:
        return embeddings.reshape(self.view_count, -1, embeddings.shape[-1])

    def loss(self, model, method_state, batch, rng):
        z = self._by_view(self.embed_for_loss(model, self.encoder_inputs(batch, rng)))
        loss, metrics = self.objective(z, batch)
        metrics = {"loss": loss, "embedding_std": embedding_std(z.reshape(-1, z.shape[-1])),
                   **metrics}
        return loss, (metrics, method_state)


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


# --- config checks (raised when the method is built, before anything compiles) -------------


def check_momentum(value: float, name: str = "momentum") -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"config.method.{name} must be an EMA momentum in [0, 1], got {value}.")
    return float(value)


def check_queue_size(queue_size: int, batch_size: int, name: str = "queue_size") -> int:
    if queue_size < batch_size or queue_size % batch_size:
        raise ValueError(
            f"config.method.{name}={queue_size} must be a positive multiple of the global "
            f"batch size config.batch_size={batch_size} (the whole batch is enqueued each "
            f"step), e.g. {batch_size * max(1, queue_size // batch_size)}.")
    return int(queue_size)


def num_views_of(method: Method) -> int:
    """Views per example the augmentation makes (its ``num_views``, else config.augment's)."""
    count = getattr(method.make_views, "num_views", None)
    if count is None:
        count = method.config.augment.get("num_views", 2)
    return int(count)


def check_predictor(method_config: ml_collections.ConfigDict) -> str:
    kind = method_config.get("predictor", "mlp")
    if kind not in PREDICTORS:
        raise ValueError(f"config.method.predictor must be one of {PREDICTORS}, got {kind!r}.")
    return kind


def check_num_views(method: Method, minimum: int = 2) -> int:
    count = num_views_of(method)
    if count < minimum:
        raise ValueError(
            f"method {method.config.method.name!r} needs at least {minimum} views per example, "
            f"but augment {method.config.augment.name!r} makes {count}; set "
            f"config.augment.num_views >= {minimum}.")
    return count
