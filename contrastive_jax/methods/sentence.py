"""Unsupervised sentence embeddings from token ids: SimCSE, DebCSE and WhitenedCSE here;
ESimCSE and Contriever (momentum encoder + queue) in ``methods.sentence_queue``, on the same
encoder, head and ``SimCSE`` base.

Papers: "SimCSE: Simple Contrastive Learning of Sentence Embeddings", Gao et al., 2021;
"DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the Debiasing
Perspective", Miao et al., 2023; "WhitenedCSE: Whitening-based Contrastive Learning of
Sentence Embeddings", Zhuo et al., 2023.

Data: batches with ``"text": int32 [B, L]`` (pad 0, unk 1, a trailing eot 2, e.g.
``sentences:stdlib``). The views are made here from the tokens (``data.augment_text``), not by
``config.augment`` (use ``augment.name="none"``). The encoder is ``config.encoder``, a text
encoder mapping tokens [B, L] to features [B, D], built by ``build_sentence_encoder`` (the one
place to change when the encoder's constructor changes). Dropout is the encoder's: SimCSE's
"augmentation" is two forward passes in train mode; ``encode`` passes a ``dropout_rng`` to an
encoder whose ``__call__`` takes one. ``embed`` gives the encoder's features in eval mode
(SimCSE's ``mlp_only_train``: the training head is not part of the representation).

Losses (one global batch under jit; negatives span the whole batch):

* SimCSE: ``info_nce(h(z1), h(z2))`` of two dropout views (``losses.info_nce``).
* DebCSE: ``losses.debcse`` (inverse-propensity weighted negatives, surface similarity =
  token Jaccard of the sentences).
* WhitenedCSE: V dropout views, each ``shuffled_group_whitening``-ed, then the dense + tanh
  head, ``sum_v info_nce(w_0, w_v)`` (the released code's order: whitening, then its MLP).
"""

from __future__ import annotations

import dataclasses
import inspect

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.data import augment_text
from contrastive_jax.methods.base import Method
from contrastive_jax.methods.batch_loss import ALL_FORMS, DENSE_FORMS, batch_loss
from contrastive_jax.methods.common import embedding_std
from contrastive_jax.methods.options import BatchLossOptions, MethodOptions
from contrastive_jax.registry import ENCODERS, config_kwargs, unaccepted_options

HEADS = ("dense_tanh", "none")


# --- the encoder: the one place that knows how a text encoder is built and called ----------


def build_sentence_encoder(encoder_config, max_len: int, rngs: nnx.Rngs) -> nnx.Module:
    """``config.encoder`` (a text encoder's registry name and options) -> module [B, L] ->
    [B, D] with ``feature_dim``. Options the named encoder does not take are dropped."""
    name = encoder_config["name"]
    kwargs = config_kwargs(encoder_config)
    constructor = ENCODERS.get(name)
    kwargs = {k: v for k, v in kwargs.items()
              if k not in unaccepted_options(ENCODERS.constructor(name), kwargs)}
    kwargs.pop("max_len", None)
    try:
        return constructor(max_len=max_len, rngs=rngs, **kwargs)
    except TypeError as error:
        raise ValueError(f"encoder {name!r} is not a text encoder taking max_len and token ids "
                         f"(e.g. text_transformer), or rejected its options {sorted(kwargs)}: "
                         f"{error}") from error


def _takes_dropout_rng(module: nnx.Module) -> bool:
    return "dropout_rng" in inspect.signature(type(module).__call__).parameters


def encode(encoder: nnx.Module, tokens: jax.Array, *, train: bool,
           rng: jax.Array | None = None) -> jax.Array:
    """Features [N, D] of tokens [N, L]; ``rng`` drives the encoder's dropout if it has any."""
    if rng is not None and _takes_dropout_rng(encoder):
        return encoder(tokens, train=train, dropout_rng=rng)
    return encoder(tokens, train=train)


class SentenceModel(nnx.Module):
    """The text encoder and SimCSE's training head (``dense_tanh``: Linear(D, D) + tanh, the
    "MLP over [CLS]" used only in training) or none."""

    def __init__(self, encoder: nnx.Module, *, head: str, rngs: nnx.Rngs):
        self.encoder = encoder
        dim = encoder.feature_dim
        self.head = nnx.Linear(dim, dim, rngs=rngs) if head == "dense_tanh" else None

    def project(self, features: jax.Array) -> jax.Array:
        return features if self.head is None else jnp.tanh(self.head(features))

    def __call__(self, tokens: jax.Array, *, train: bool, rng: jax.Array | None = None):
        features = encode(self.encoder, tokens, train=train, rng=rng)
        return features, self.project(features)


# --- options -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class SentenceOptions(MethodOptions):
    """temperature (0.05, SimCSE), head ("dense_tanh": SimCSE's training-only MLP; "none") and
    token_dropout (an extra token-deletion view augmentation; 0 = dropout only, the paper)."""

    temperature: float = 0.05
    head: str = "dense_tanh"
    token_dropout: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("temperature")
        self.check_choice("head", HEADS)
        self.check("token_dropout", lambda v: 0.0 <= v < 1.0, "in [0, 1)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimCSEOptions(SentenceOptions, BatchLossOptions):
    """SentenceOptions plus how the in-batch loss is computed (``loss_block_size``,
    ``cross_device``: the global batch under jit, or ``shard_map`` with all-gathered keys or
    a ring)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DebCSEOptions(SimCSEOptions):
    """SimCSEOptions plus num_bins (10) and false_negative_threshold (0.9) of
    ``losses.debcse`` (this library's choices: see its docstring); its loss has no blockwise
    form (cross_device "global" or "all_gather")."""

    num_bins: int = 10
    false_negative_threshold: float = 0.9

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "num_bins")


@dataclasses.dataclass(frozen=True, kw_only=True)
class WhitenedCSEOptions(SentenceOptions):
    """SentenceOptions plus num_views (3, the released ``num_pos``), num_groups (128, the
    released code for D = 768; must divide the encoder's width) and eps (1e-5 whitening
    ridge; the code has none)."""

    num_views: int = 3
    num_groups: int = 128
    eps: float = 1e-5

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(2, "num_views")
        self.check_at_least(1, "num_groups")
        self.check("eps", lambda v: v >= 0, ">= 0")


# --- methods -----------------------------------------------------------------------------


class SimCSE(Method):
    """Unsupervised SimCSE. Options: ``SimCSEOptions``. method_state is empty."""

    options_type = SimCSEOptions
    min_views = 1

    @classmethod
    def loss_forms(cls, options):
        return ALL_FORMS if isinstance(options, BatchLossOptions) else (("global",), False)

    def init(self, rng, example_batch):
        if "text" not in example_batch:
            raise ValueError(f"method {self.name!r} needs batches with a 'text' field of token "
                             f"ids (a text dataset such as sentences:stdlib).")
        tokens = example_batch["text"]
        vocab_size = self.encoder_config.get("vocab_size")
        if (vocab_size is not None and isinstance(tokens, np.ndarray) and tokens.size
                and int(tokens.max()) >= vocab_size):
            raise ValueError(f"token id {int(tokens.max())} >= encoder.vocab_size="
                             f"{vocab_size}: raise config.encoder.vocab_size.")
        model_rng, state_rng = jax.random.split(rng)
        rngs = nnx.Rngs(params=model_rng)
        model = SentenceModel(build_sentence_encoder(self.encoder_config, tokens.shape[-1], rngs),
                              head=self.options.head, rngs=rngs)
        return model, self.initial_state(model, state_rng)

    def initial_state(self, model, rng) -> dict:
        return {}

    def augment(self, rng, tokens):
        """The extra token-deletion augmentation of each view (identity at rate 0)."""
        rate = self.options.token_dropout
        return tokens if rate == 0 else augment_text.token_dropout(rng, tokens, rate=rate)

    def two_views(self, model, tokens, rng):
        """``(z1, z2)``: the projections of two dropout passes (one forward of [2B, L])."""
        aug_rng, drop_rng = jax.random.split(rng)
        r1, r2 = jax.random.split(aug_rng)
        views = jnp.concatenate([self.augment(r1, tokens), self.augment(r2, tokens)])
        _, z = model(views, train=True, rng=drop_rng)
        return jnp.split(z, 2)

    def loss(self, model, method_state, batch, rng):
        z1, z2 = self.two_views(model, batch["text"], rng)
        t = self.options.temperature
        loss = batch_loss(lambda a, b, **kw: losses.info_nce(a, b, temperature=t, **kw),
                          (z1, z2), options=self.options)
        return loss, ({"loss": loss, "embedding_std": embedding_std(z1)}, method_state)

    def embed(self, model, inputs):
        tokens = inputs["text"] if isinstance(inputs, dict) else inputs
        return encode(model.encoder, tokens, train=False)


class DebCSE(SimCSE):
    """DebCSE (in-batch reading, see ``losses.debcse``). Options: ``DebCSEOptions``."""

    options_type = DebCSEOptions

    @classmethod
    def loss_forms(cls, options):
        return DENSE_FORMS

    def loss(self, model, method_state, batch, rng):
        tokens = batch["text"]
        z1, z2 = self.two_views(model, tokens, rng)
        surface = losses.token_jaccard(tokens, tokens)  # [B, B]: rows split over the devices
        o = self.options
        loss = batch_loss(
            lambda a, b, s, **kw: losses.debcse(
                a, b, s, temperature=o.temperature, num_bins=o.num_bins,
                false_negative_threshold=o.false_negative_threshold, **kw),
            (z1, z2, surface), options=o)
        kept = negatives_kept(z1, z2, o.false_negative_threshold)
        return loss, ({"loss": loss, "embedding_std": embedding_std(z1),
                       "negatives_kept": kept}, method_state)


def negatives_kept(z1: jax.Array, z2: jax.Array, threshold: float) -> jax.Array:
    """Share of the off-diagonal pairs (i, j != i) whose cosine ``cos(z1_i, z2_j)`` is below
    ``threshold``, i.e. that DebCSE keeps as negatives (no gradient). Near 0 the loss is near 0
    and nothing is learned: an encoder whose embeddings are all alike (early in training) can
    put every pair above the threshold; raise ``method.false_negative_threshold`` then."""
    z1, z2 = jax.lax.stop_gradient((z1, z2))
    cos = losses.l2_normalize(z1) @ losses.l2_normalize(z2).T
    off_diagonal = ~jnp.eye(cos.shape[0], dtype=bool)
    return jnp.sum((cos < threshold) & off_diagonal) / jnp.maximum(jnp.sum(off_diagonal), 1)


class WhitenedCSE(SimCSE):
    """WhitenedCSE. Options: ``WhitenedCSEOptions``; the encoder's width must be a multiple
    of num_groups (checked at init)."""

    options_type = WhitenedCSEOptions

    @classmethod
    def loss_forms(cls, options):
        return ("global",), False  # the head sits between the global whitening and the loss

    def initial_state(self, model, rng):
        dim, groups = model.encoder.feature_dim, self.options.num_groups
        if dim % groups:
            divisors = [g for g in range(1, dim + 1) if dim % g == 0]
            raise ValueError(f"config.method.num_groups={groups} must divide the encoder's "
                             f"feature size {dim}; valid: {divisors}.")
        return {}

    def loss(self, model, method_state, batch, rng):
        o, tokens = self.options, batch["text"]
        aug_rng, drop_rng, shuffle_rng = jax.random.split(rng, 3)
        views = jnp.concatenate([self.augment(r, tokens)
                                 for r in jax.random.split(aug_rng, o.num_views)])
        features = encode(model.encoder, views, train=True, rng=drop_rng)
        features = features.reshape(o.num_views, tokens.shape[0], -1)
        permutations = losses.group_permutations(shuffle_rng, o.num_views, features.shape[-1])
        z = [model.project(losses.shuffled_group_whitening(
            features[v], permutations[v], num_groups=o.num_groups, eps=o.eps))
            for v in range(o.num_views)]
        loss = sum(losses.info_nce(z[0], zv, temperature=o.temperature) for zv in z[1:])
        return loss, ({"loss": loss, "embedding_std": embedding_std(z[0])}, method_state)
