"""The method contract shared by every self-supervised / image-text method."""

from __future__ import annotations

import abc
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
from flax import nnx

from contrastive_jax.registry import ENCODERS

# views(rng, images: f32 [B, H, W, C] in [0, 1]) -> tuple of V arrays [B, h, w, C]
ViewFn = Callable[[jax.Array, jax.Array], tuple[jax.Array, ...]]


def images_to_unit_range(images: jax.Array) -> jax.Array:
    """uint8 [B, H, W, C] (or float already in [0, 1]) -> float32 in [0, 1]."""
    if images.dtype == jnp.uint8:
        return images.astype(jnp.float32) / 255.0
    return images.astype(jnp.float32)


def center_pixels(images: jax.Array) -> jax.Array:
    """Map [0, 1] pixels to [-1, 1], the encoder's input range."""
    return images * 2.0 - 1.0


def config_kwargs(config: ml_collections.ConfigDict, *, drop: tuple[str, ...] = ("name",)) -> dict:
    """A component's ConfigDict as constructor kwargs (lists become tuples: jit needs hashables)."""
    kwargs = {}
    for key, value in config.to_dict().items():
        if key in drop:
            continue
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    return kwargs


def build_encoder(encoder_config: ml_collections.ConfigDict, in_shape, rngs: nnx.Rngs) -> nnx.Module:
    """The encoder named by ``encoder_config.name``, with the other keys as its options."""
    constructor = ENCODERS.get(encoder_config.name)
    kwargs = config_kwargs(encoder_config)
    try:
        return constructor(in_shape=tuple(in_shape), rngs=rngs, **kwargs)
    except TypeError as error:
        raise ValueError(
            f"encoder {encoder_config.name!r} rejected its options {sorted(kwargs)}: {error}"
        ) from error


class Method(abc.ABC):
    """Base class: holds the config, the source's image shape and the view function.

    Subclasses implement ``init``, ``loss`` and, where the representation is not
    ``model.encoder``, ``embed``.
    """

    def __init__(self, config: ml_collections.ConfigDict, *, image_shape, make_views: ViewFn,
                 num_classes: int | None = None):
        self.config = config
        self.image_shape = tuple(image_shape)
        self.make_views = make_views
        self.num_classes = num_classes

    @abc.abstractmethod
    def init(self, rng: jax.Array, example_batch: dict) -> tuple[nnx.Module, Any]:
        """Build the model (an NNX module with an ``encoder``) and the initial method state."""

    @abc.abstractmethod
    def loss(self, model: nnx.Module, method_state: Any, batch: dict, rng: jax.Array):
        """``(loss, (metrics, new_method_state))`` for one global batch; pure, jit-able."""

    # --- GradCache (Gao et al., 2021): optional, for methods whose loss is a function of
    # per-example embeddings. ``train.grad_cache`` calls these three in this order.
    supports_grad_cache = False

    def encoder_inputs(self, batch: dict, rng: jax.Array) -> jax.Array:
        """Everything the encoder will see this step, stacked: ``[N, ...]`` (e.g. both views)."""
        raise TypeError(f"{type(self).__name__} does not support grad_cache")

    def embed_for_loss(self, model: nnx.Module, inputs: jax.Array) -> jax.Array:
        """Per-example embeddings ``[n, D]`` of a chunk of ``encoder_inputs``."""
        raise TypeError(f"{type(self).__name__} does not support grad_cache")

    def loss_from_embeddings(self, embeddings: jax.Array) -> jax.Array:
        """The scalar loss from all ``[N, D]`` embeddings of the step."""
        raise TypeError(f"{type(self).__name__} does not support grad_cache")

    def embed(self, model: nnx.Module, images: jax.Array) -> jax.Array:
        """Frozen representation for evaluation: encoder features in inference mode."""
        return model.encoder(center_pixels(images_to_unit_range(images)), train=False)

    def embed_projection(self, model: nnx.Module, images: jax.Array) -> jax.Array:
        """The projector's output on ``embed``'s features, in inference mode: the space the
        loss sees, probed to compare with the pre-projection representation."""
        projector = getattr(model, "projector", None)
        if projector is None:
            raise TypeError(f"{type(self).__name__}'s model has no projector to probe "
                            f"(config.eval.probe_projection needs one).")
        return projector(self.embed(model, images), train=False)
