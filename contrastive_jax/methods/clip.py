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

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import (
    Method, build_encoder, center_pixels, config_kwargs, images_to_unit_range)
from contrastive_jax.methods.common import check_num_views, views_of
from contrastive_jax.registry import ENCODERS


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
    """config.method: embed_dim, log_scale_init (log(1/0.07)), max_logit_scale (100),
    text_encoder (a ConfigDict: name, vocab_size and the encoder's options).

    The scale is ``exp(min(t, log(max_logit_scale)))``: CLIP clips it at 100 (no gradient
    beyond the cap). method_state is empty.
    """

    bias_init: float | None = None

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        if not str(config.dataset.name).startswith("captions:"):
            raise ValueError(f"method {config.method.name!r} trains on image-caption pairs: use "
                             f"a captions:<source> dataset (e.g. captions:mnist5k), got "
                             f"{config.dataset.name!r}.")
        text_config = config.method.text_encoder
        try:
            ENCODERS.check(text_config.name)
        except KeyError as error:
            raise ValueError(f"config.method.text_encoder: {error.args[0]}") from None
        check_num_views(self, 1)

    def _text_encoder(self, max_len: int, rngs: nnx.Rngs):
        text_config = self.config.method.text_encoder
        kwargs = config_kwargs(text_config)
        try:
            return ENCODERS.build(text_config.name, max_len=max_len, rngs=rngs, **kwargs)
        except TypeError as error:
            raise ValueError(f"text encoder {text_config.name!r} rejected its options "
                             f"{sorted(kwargs)}: {error}") from error

    def init(self, rng, example_batch):
        if "text" not in example_batch:
            raise ValueError(f"method {self.config.method.name!r} needs batches with a 'text' "
                             f"field (a captions:<source> dataset).")
        tokens = example_batch["text"]
        vocab_size = self.config.method.text_encoder.vocab_size
        if isinstance(tokens, np.ndarray) and tokens.size and int(tokens.max()) >= vocab_size:
            raise ValueError(f"token id {int(tokens.max())} >= text_encoder.vocab_size="
                             f"{vocab_size}: raise config.method.text_encoder.vocab_size.")
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.config.encoder, self.image_shape, rngs)
        text_encoder = self._text_encoder(tokens.shape[-1], rngs)
        model = ImageTextModel(encoder, text_encoder, embed_dim=self.config.method.embed_dim,
                               log_scale_init=self.config.method.log_scale_init,
                               bias_init=self.bias_init, rngs=rngs)
        return model, {}

    def logit_scale(self, model) -> jax.Array:
        cap = math.log(self.config.method.get("max_logit_scale", 100.0))
        return jnp.exp(jnp.minimum(model.log_logit_scale[...], cap))

    def objective(self, model, image, text):
        return losses.clip(image, text, logit_scale=self.logit_scale(model))

    def loss(self, model, method_state, batch, rng):
        (view,) = views_of(self, batch, rng, 1)
        image = model.embed_image(view, train=True)
        text = model.embed_text(batch["text"], train=True)
        loss = self.objective(model, image, text)
        similarity = image @ text.T
        accuracy = jnp.mean(jnp.argmax(similarity, axis=1) == jnp.arange(image.shape[0]))
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
    """config.method: as CLIP, with log_scale_init log(10) and bias_init (-10).

    The scale is ``exp(t)`` (no cap); the bias ``b`` is learned.
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.bias_init = float(config.method.get("bias_init", -10.0))

    def logit_scale(self, model) -> jax.Array:
        return jnp.exp(model.log_logit_scale[...])

    def objective(self, model, image, text):
        return losses.siglip(image, text, logit_scale=self.logit_scale(model),
                             logit_bias=model.logit_bias[...])
