"""Image-text objectives on top of CLIP: NegCLIP, soft-target CLIP, CleanCLIP and ProtoCLIP.

Each is CLIP (``methods.clip``: the same two towers, learned logit scale capped at 100, data
from a ``captions:<source>`` or ``composites:<source>`` dataset) with another objective, given
by one options class and one ``objective``/``loss`` override:

* ``negclip``: batches must carry ``"text_negative"`` (``composites:<source>`` makes the
  word-order / attribute swap of every caption); the captions and their negatives go through
  the text tower together and the negatives join the image->text softmax
  (``losses.negclip``). Logs ``batch_order_accuracy``: the fraction of images closer to their
  caption than to its swap.
* ``soft_clip``: ``losses.soft_target_clip`` with ``smoothing`` (PyramidCLIP's softened
  negatives).
* ``cleanclip``: two image views (``augment.num_views >= 2``) and, for the text, EDA's random
  deletion of each word with probability ``text_deletion`` (``delete_words``); the CLIP loss on
  the first view and the captions plus the in-modality terms (``losses.cleanclip``).
  CleanCLIP is a fine-tuning recipe (a pre-trained, possibly poisoned CLIP fine-tuned on clean
  pairs); here it trains from the config's initialization.
* ``protoclip``: two linear projection heads (``proto_dim``) on the joint-space embeddings and
  a learned prototype logit scale (capped like CLIP's); ``losses.protoclip`` clusters the
  batch's projected features of each modality (the episode is the global batch).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.batch_loss import batch_loss, retrieval_accuracy
from contrastive_jax.methods.clip import CLIP, CLIPOptions
from contrastive_jax.methods.common import views_of

PAD = 0  # the caption tokenizers' padding id (data.captions.PAD)


def order_accuracy(image: jax.Array, text: jax.Array, negative_text: jax.Array) -> jax.Array:
    """Fraction of images whose cosine similarity to their caption exceeds that to its hard
    negative (image, text, negative_text: [B, D])."""
    unit = losses.l2_normalize
    x, y, n = unit(image), unit(text), unit(negative_text)
    return jnp.mean(jnp.sum(x * y, axis=1) > jnp.sum(x * n, axis=1))


def delete_words(rng: jax.Array, tokens: jax.Array, probability: float) -> jax.Array:
    """EDA's random deletion: drop each word (non-pad token) with ``probability``, keep the
    rest in order and left-aligned, pad the end; a caption that would lose every word keeps
    its first. tokens: int [B, L] -> int [B, L]."""
    real = tokens != PAD
    keep = real & (jax.random.uniform(rng, tokens.shape) >= probability)
    first = jnp.arange(tokens.shape[1])[None, :] == jnp.argmax(real, axis=1)[:, None]
    keep = keep | (~jnp.any(keep, axis=1, keepdims=True) & first & real)
    order = jnp.argsort(~keep, axis=1, stable=True)  # kept tokens first, in their order
    return jnp.take_along_axis(jnp.where(keep, tokens, PAD), order, axis=1)


class NegCLIP(CLIP):
    """Options: ``CLIPOptions``. Needs batches with ``"text_negative"`` [B, L]."""

    def init(self, rng, example_batch):
        if "text_negative" not in example_batch:
            raise ValueError(f"method {self.name!r} needs batches with hard negative captions "
                             f"('text_negative'): use a composites:<source> dataset "
                             f"(e.g. composites:mnist5k).")
        return super().init(rng, example_batch)

    def loss(self, model, method_state, batch, rng):
        (view,) = views_of(self, batch, rng, 1)
        image = model.embed_image(view, train=True)
        # Captions and their negatives in one pass, as if appended to the batch's texts.
        both = model.embed_text(jnp.concatenate([batch["text"], batch["text_negative"]]),
                                train=True)
        text, negative = jnp.split(both, 2)
        scale = self.logit_scale(model)
        loss_fn = lambda i, t, n, s, **kw: losses.negclip(i, t, n, logit_scale=s, **kw)
        loss = batch_loss(loss_fn, (image, text, negative), (scale,), options=self.options)
        metrics = {"loss": loss, "logit_scale": scale,
                   "batch_retrieval_accuracy": retrieval_accuracy(
                       image, text, self.options.loss_block_size),
                   "batch_order_accuracy": order_accuracy(image, text, negative)}
        return loss, (metrics, method_state)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SoftCLIPOptions(CLIPOptions):
    """CLIPOptions plus smoothing (the target mass on the negatives, PyramidCLIP's 0.2)."""

    smoothing: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        self.check("smoothing", lambda v: 0.0 <= v < 1.0, "in [0, 1)")


class SoftCLIP(CLIP):
    """Options: ``SoftCLIPOptions``; the loss is ``losses.soft_target_clip``."""

    options_type = SoftCLIPOptions

    def objective(self, model, image, text):
        smoothing = self.options.smoothing
        loss_fn = lambda i, t, s, **kw: losses.soft_target_clip(
            i, t, logit_scale=s, smoothing=smoothing, **kw)
        return batch_loss(loss_fn, (image, text), (self.logit_scale(model),),
                          options=self.options)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CleanCLIPOptions(CLIPOptions):
    """CLIPOptions plus clip_weight / inmodal_weight (lambda_1 / lambda_2, both 1 in the paper
    and its code) and text_deletion (EDA's random-deletion probability, EDA's default 0.1)."""

    clip_weight: float = 1.0
    inmodal_weight: float = 1.0
    text_deletion: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        self.check("clip_weight", lambda v: v >= 0, ">= 0")
        self.check("inmodal_weight", lambda v: v >= 0, ">= 0")
        self.check("text_deletion", lambda v: 0.0 <= v < 1.0, "in [0, 1)")


class CleanCLIP(CLIP):
    """Options: ``CleanCLIPOptions``. Two image views: the first is CLIP's image, the second
    its augmented counterpart; the captions' augmented versions come from ``delete_words``.

    Simplifications: both image views come from ``config.augment`` (the paper pairs the
    original image with an augmented one); of EDA's four text operations only random deletion
    (synonym replacement and insertion need WordNet; random swap would change a composite
    caption's meaning)."""

    options_type = CleanCLIPOptions
    min_views = 2

    def loss(self, model, method_state, batch, rng):
        view_rng, text_rng = jax.random.split(rng)
        first, second = views_of(self, batch, view_rng, 2)
        image, image_augmented = jnp.split(
            model.embed_image(jnp.concatenate([first, second]), train=True), 2)
        tokens = batch["text"]
        augmented_tokens = delete_words(text_rng, tokens, self.options.text_deletion)
        text, text_augmented = jnp.split(
            model.embed_text(jnp.concatenate([tokens, augmented_tokens]), train=True), 2)
        scale = self.logit_scale(model)
        weights = dict(clip_weight=self.options.clip_weight,
                       inmodal_weight=self.options.inmodal_weight)
        loss_fn = lambda i, t, ia, ta, s, **kw: losses.cleanclip(
            i, t, ia, ta, logit_scale=s, **weights, **kw)
        loss = batch_loss(loss_fn, (image, text, image_augmented, text_augmented), (scale,),
                          options=self.options)
        metrics = {"loss": loss, "logit_scale": scale,
                   "batch_retrieval_accuracy": retrieval_accuracy(
                       image, text, self.options.loss_block_size)}
        return loss, (metrics, method_state)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProtoCLIPOptions(CLIPOptions):
    """CLIPOptions plus num_prototypes (K, at most the batch size; the released recipe's
    ratio is one prototype per 10 episode examples), proto_dim (the projection heads' width,
    128 in the release), target_temperature (0.01), kmeans_iterations (20), clip_weight and
    proto_weight (1 and 1)."""

    num_prototypes: int
    proto_dim: int = 128
    target_temperature: float = 0.01
    kmeans_iterations: int = 20
    clip_weight: float = 1.0
    proto_weight: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "num_prototypes", "proto_dim", "kmeans_iterations")
        self.check("clip_weight", lambda v: v >= 0, ">= 0")
        self.check("proto_weight", lambda v: v >= 0, ">= 0")


class ProtoCLIP(CLIP):
    """Options: ``ProtoCLIPOptions``. The model gains ``image_proto_head`` and
    ``text_proto_head`` (linear, embed_dim -> proto_dim, on the joint-space embeddings: our
    choice of attachment point) and ``log_proto_scale`` (initialized like CLIP's log scale,
    capped at ``max_logit_scale`` as the release clamps its prototype scale at 100)."""

    options_type = ProtoCLIPOptions

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        if options.num_prototypes > self.batch_size:
            raise ValueError(f"config.method.num_prototypes={options.num_prototypes} must be "
                             f"at most config.batch_size={self.batch_size}: the batch is the "
                             f"episode that is clustered.")

    def init(self, rng, example_batch):
        model, state = super().init(rng, example_batch)
        rngs = nnx.Rngs(params=jax.random.fold_in(rng, 1))
        width, proto_dim = self.options.embed_dim, self.options.proto_dim
        model.image_proto_head = nnx.Linear(width, proto_dim, rngs=rngs)
        model.text_proto_head = nnx.Linear(width, proto_dim, rngs=rngs)
        model.log_proto_scale = nnx.Param(jnp.asarray(self.options.log_scale_init, jnp.float32))
        return model, state

    def proto_scale(self, model) -> jax.Array:
        cap = math.log(self.options.max_logit_scale)
        return jnp.exp(jnp.minimum(model.log_proto_scale[...], cap))

    def loss(self, model, method_state, batch, rng):
        (view,) = views_of(self, batch, rng, 1)
        image = model.embed_image(view, train=True)
        text = model.embed_text(batch["text"], train=True)
        options = self.options
        hyper = dict(num_prototypes=options.num_prototypes,
                     target_temperature=options.target_temperature,
                     kmeans_iterations=options.kmeans_iterations,
                     clip_weight=options.clip_weight, proto_weight=options.proto_weight)
        loss_fn = lambda i, t, pi, pt, s, ps, **kw: losses.protoclip(
            i, t, pi, pt, logit_scale=s, proto_logit_scale=ps, **hyper, **kw)
        scale, proto_scale = self.logit_scale(model), self.proto_scale(model)
        loss = batch_loss(loss_fn, (image, text, model.image_proto_head(image),
                                    model.text_proto_head(text)),
                          (scale, proto_scale), options=options)
        metrics = {"loss": loss, "logit_scale": scale, "proto_logit_scale": proto_scale,
                   "batch_retrieval_accuracy": retrieval_accuracy(
                       image, text, options.loss_block_size)}
        return loss, (metrics, method_state)
