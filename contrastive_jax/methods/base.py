"""The method contract shared by every self-supervised / image-text method."""

from __future__ import annotations

import abc
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax.methods.options import MethodOptions
from contrastive_jax.registry import ENCODERS, config_kwargs, unaccepted_options

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


def encoder_options(encoder_config) -> tuple[dict, list[str]]:
    """``(kwargs the named encoder takes, sorted names of the options it does not take)``.

    Options of another encoder (e.g. the convnet's ``widths`` after switching
    ``encoder.name`` to ``resnet18``) are dropped, so encoders can be switched by name alone.
    """
    kwargs = config_kwargs(encoder_config)
    dropped = unaccepted_options(ENCODERS.get(encoder_config["name"]), kwargs)
    return {k: v for k, v in kwargs.items() if k not in dropped}, dropped


def build_encoder(encoder_config, in_shape, rngs: nnx.Rngs) -> nnx.Module:
    """The encoder named by ``encoder_config.name``, with the options it takes."""
    kwargs, _ = encoder_options(encoder_config)
    try:
        return ENCODERS.build(encoder_config["name"], in_shape=tuple(in_shape), rngs=rngs,
                              **kwargs)
    except TypeError as error:
        raise ValueError(f"encoder {encoder_config['name']!r} rejected its options "
                         f"{sorted(kwargs)}: {error}") from error


class Method(abc.ABC):
    """Base class: holds the declared options, the run's sizes and the view function.

    Built by ``train.build.build_method`` from a config: ``options`` is an ``options_type``
    made from ``config.method``; ``encoder`` is the encoder's config (its ``name`` and
    options); ``num_views`` is how many views ``make_views`` returns (at least
    ``min_views``, checked by the builder); ``batch_size`` is the global batch and
    ``total_steps`` the length of the run; ``num_examples`` the training split's size (for
    per-example state indexed by ``batch["index"]``; None when the builder was not given it).
    Subclasses implement ``init``, ``loss`` and, where the representation is not
    ``model.encoder``, ``embed``.
    """

    options_type: type[MethodOptions] = MethodOptions
    min_views: int = 1
    needs_captions = False  # True: the builder requires a captions:<source> dataset

    def __init__(self, options: MethodOptions, *, encoder, image_shape, make_views: ViewFn,
                 num_views: int, batch_size: int, total_steps: int,
                 num_classes: int | None = None, name: str | None = None,
                 num_examples: int | None = None):
        if not isinstance(options, self.options_type):
            raise TypeError(f"{type(self).__name__} takes {self.options_type.__name__}, got "
                            f"{type(options).__name__}.")
        self.options = options
        self.encoder_config = encoder
        self.image_shape = tuple(image_shape)
        self.make_views = make_views
        self.num_views = int(num_views)
        self.batch_size = int(batch_size)
        self.total_steps = int(total_steps)
        self.num_classes = num_classes
        self.name = name or type(self).__name__.lower()
        self.num_examples = None if num_examples is None else int(num_examples)

    @classmethod
    def loss_forms(cls, options: MethodOptions) -> tuple[tuple[str, ...], bool]:
        """``(cross_device values, has a blockwise form)`` this method's loss honours for
        ``options`` (``methods.batch_loss``). The default: the global batch, naive only, so a
        method that inherits ``loss_block_size`` / ``cross_device`` without passing them on
        rejects any other value at config time instead of ignoring it."""
        return ("global",), False

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
