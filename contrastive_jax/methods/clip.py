"""CLIP and SigLIP: an image tower and a text tower trained on image-caption pairs.

Papers: "Learning Transferable Visual Models From Natural Language Supervision", Radford et al.,
2021 (softmax loss, learned log logit scale initialized at log(1/0.07), scale capped at 100);
"Sigmoid Loss for Language Image Pre-Training", Zhai et al., 2023 (sigmoid loss, log scale
initialized at log(10), bias at -10).

Data: a ``captions:<source>`` dataset, whose batches carry ``"text": int32 [B, L]``. The image
tower is ``config.encoder`` followed by a linear projection; the text tower is
``config.method.text_encoder`` (e.g. ``text_transformer``) followed by a linear projection, both
into ``embed_dim``. ``embed`` gives the image encoder's features (for kNN / linear probes);
``embed_image`` and ``embed_text`` give the joint-space embeddings (for zero-shot / retrieval).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import (
    Method, build_encoder, center_pixels, images_to_unit_range)
from contrastive_jax.methods.batch_loss import ALL_FORMS, batch_loss, retrieval_accuracy
from contrastive_jax.methods.common import views_of
from contrastive_jax.methods.options import BatchLossOptions
from contrastive_jax.registry import ENCODERS, config_kwargs


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageTextOptions(BatchLossOptions):
    """embed_dim (the joint space), log_scale_init (the learned log logit scale's start),
    text_encoder (a dict: the text encoder's registry ``name``, ``vocab_size`` and options) and
    how the loss is computed (``loss_block_size``, ``cross_device``)."""

    embed_dim: int
    log_scale_init: float
    text_encoder: dict

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "embed_dim")
        if "name" not in self.text_encoder:
            raise ValueError(f"config.method.text_encoder needs a 'name'; valid: "
                             f"{ENCODERS.names()}.")
        try:
            ENCODERS.check(self.text_encoder["name"])
        except KeyError as error:
            raise ValueError(f"config.method.text_encoder: {error.args[0]}") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CLIPOptions(ImageTextOptions):
    """ImageTextOptions plus max_logit_scale (the cap on the scale, 100 in CLIP)."""

    max_logit_scale: float = 100.0

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("max_logit_scale")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SigLIPOptions(ImageTextOptions):
    """ImageTextOptions plus bias_init (the learned logit bias's start, -10 in SigLIP)."""

    bias_init: float = -10.0


class ImageTextModel(nnx.Module):
    """Two towers into a shared space, a learnable log logit scale and (SigLIP) a logit bias."""

    def __init__(self, encoder, text_encoder, *, embed_dim: int, log_scale_init: float,
                 bias_init: float | None, rngs: nnx.Rngs):
        self.encoder = encoder
        self.image_projection = nnx.Linear(encoder.feature_dim, embed_dim, use_bias=False,
                                           rngs=rngs)
        self.text_encoder = text_encoder
        self.text_projection = nnx.Linear(text_encoder.feature_dim, embed_dim, use_bias=False,
                                          rngs=rngs)
        self.log_logit_scale = nnx.Param(jnp.asarray(log_scale_init, jnp.float32))
        self.logit_bias = (None if bias_init is None
                           else nnx.Param(jnp.asarray(bias_init, jnp.float32)))

    def embed_image(self, x: jax.Array, *, train: bool) -> jax.Array:
        """x: [B, H, W, C] centred pixels -> [B, embed_dim] (not normalized)."""
        return self.image_projection(self.encoder(x, train=train))

    def embed_text(self, tokens: jax.Array, *, train: bool) -> jax.Array:
        """tokens: int [B, L] -> [B, embed_dim] (not normalized)."""
        return self.text_projection(self.text_encoder(tokens, train=train))


class CLIP(Method):
    """Options: ``CLIPOptions`` (the paper: log_scale_init log(1/0.07), max_logit_scale 100).

    Trains on a ``captions:<source>`` dataset (``needs_captions``, checked by the builder).
    The scale is ``exp(min(t, log(max_logit_scale)))``: CLIP clips it at 100 (no gradient
    beyond the cap). method_state is empty.
    """

    options_type = CLIPOptions
    needs_captions = True
    bias_init: float | None = None

    @classmethod
    def loss_forms(cls, options):
        return ALL_FORMS

    def _text_encoder(self, max_len: int, rngs: nnx.Rngs):
        name = self.options.text_encoder["name"]
        kwargs = config_kwargs(self.options.text_encoder)
        try:
            return ENCODERS.build(name, max_len=max_len, rngs=rngs, **kwargs)
        except TypeError as error:
            raise ValueError(f"text encoder {name!r} rejected its options "
                             f"{sorted(kwargs)}: {error}") from error

    def init(self, rng, example_batch):
        if "text" not in example_batch:
            raise ValueError(f"method {self.name!r} needs batches with a 'text' "
                             f"field (a captions:<source> dataset).")
        tokens = example_batch["text"]
        vocab_size = self.options.text_encoder["vocab_size"]
        if isinstance(tokens, np.ndarray) and tokens.size and int(tokens.max()) >= vocab_size:
            raise ValueError(f"token id {int(tokens.max())} >= text_encoder.vocab_size="
                             f"{vocab_size}: raise config.method.text_encoder.vocab_size.")
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.encoder_config, self.image_shape, rngs)
        text_encoder = self._text_encoder(tokens.shape[-1], rngs)
        model = ImageTextModel(encoder, text_encoder, embed_dim=self.options.embed_dim,
                               log_scale_init=self.options.log_scale_init,
                               bias_init=self.bias_init, rngs=rngs)
        return model, {}

    def logit_scale(self, model) -> jax.Array:
        cap = math.log(self.options.max_logit_scale)
        return jnp.exp(jnp.minimum(model.log_logit_scale[...], cap))

    def objective(self, model, image, text):
        loss_fn = lambda image, text, scale, **kw: losses.clip(image, text, logit_scale=scale,
                                                                **kw)
        return batch_loss(loss_fn, (image, text), (self.logit_scale(model),),
                          options=self.options)

    def loss(self, model, method_state, batch, rng):
        (view,) = views_of(self, batch, rng, 1)
        image = model.embed_image(view, train=True)
        text = model.embed_text(batch["text"], train=True)
        loss = self.objective(model, image, text)
        accuracy = retrieval_accuracy(image, text, self.options.loss_block_size)
        metrics = {"loss": loss, "logit_scale": self.logit_scale(model),
                   "batch_retrieval_accuracy": accuracy}
        return loss, (metrics, method_state)

    def embed_image(self, model, images: jax.Array) -> jax.Array:
        """Joint-space image embeddings [B, embed_dim] (eval mode) from uint8/[0, 1] images."""
        return model.embed_image(center_pixels(images_to_unit_range(images)), train=False)

    def embed_text(self, model, tokens: jax.Array) -> jax.Array:
        """Joint-space text embeddings [B, embed_dim] (eval mode) of tokens int [B, L]."""
        return model.embed_text(tokens, train=False)


class SigLIP(CLIP):
    """Options: ``SigLIPOptions`` (the paper: log_scale_init log(10), bias_init -10).

    The scale is ``exp(t)`` (no cap); the bias ``b`` is learned.
    """

    options_type = SigLIPOptions

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        self.bias_init = float(options.bias_init)

    def logit_scale(self, model) -> jax.Array:
        return jnp.exp(model.log_logit_scale[...])

    def objective(self, model, image, text):
        loss_fn = lambda image, text, scale, bias, **kw: losses.siglip(
            image, text, logit_scale=scale, logit_bias=bias, **kw)
        return batch_loss(loss_fn, (image, text), (self.logit_scale(model),
                                                   model.logit_bias[...]),
                          options=self.options)
