"""Sentence-embedding methods with a momentum encoder and a queue of its keys: ESimCSE and
Contriever (their shared plumbing: ``QueueOptions``, ``ring_enqueue``, ``_QueueMixin``).

Papers: "ESimCSE: Enhanced Sample Building Method for Contrastive Learning of Unsupervised
Sentence Embedding", Wu et al., 2022; "Unsupervised Dense Information Retrieval with
Contrastive Learning" (Contriever), Izacard et al., 2022.

The text encoder, the training head, the data contract and SimCSE itself are in
``methods.sentence``; both methods here extend ``sentence.SimCSE``. method_state: {"target":
the momentum copy of the model's parameters, "step", "queue": unit keys [K, D] (random at
start, as MoCo's), "pointer": the next row to overwrite}.

* ESimCSE: view 2 is ``word_repetition(x)``; negatives also from the queue:
  ``info_nce(q1, q2, extra_negatives=queue)``.
* Contriever: two independent random crops (+ word deletion), MoCo: ``queue_info_nce(q, k,
  queue)`` with k from the momentum encoder, no head, mean pooling in the paper.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.data import augment_text
from contrastive_jax.methods.batch_loss import batch_loss
from contrastive_jax.methods.common import embedding_std, init_queue, param_arrays, with_params
from contrastive_jax.methods.options import MethodOptions
from contrastive_jax.methods.sentence import HEADS, SimCSE, SimCSEOptions


# --- options -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class QueueOptions(MethodOptions):
    """queue_size (negatives kept from earlier batches, >= the global batch) and momentum (the
    EMA of the key encoder, in [0, 1])."""

    queue_size: int
    momentum: float

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "queue_size")
        self.check("momentum", lambda v: 0.0 <= v <= 1.0, "an EMA momentum in [0, 1]")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ESimCSEOptions(SimCSEOptions, QueueOptions):
    """SentenceOptions plus dup_rate (0.32), queue_size (160 = 2.5 x the paper's batch of 64)
    and momentum (0.995), the paper's BERT-base values."""

    dup_rate: float = 0.32
    queue_size: int = 160
    momentum: float = 0.995

    def __post_init__(self):
        super().__post_init__()
        self.check("dup_rate", lambda v: v >= 0, ">= 0")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContrieverOptions(QueueOptions):
    """temperature (0.05), queue_size (131072), momentum (0.9995), crop ratios min_ratio (0.1)
    and max_ratio (0.5), token_dropout (0.1 word deletion after cropping) and head ("none"):
    the released training script's defaults."""

    temperature: float = 0.05
    queue_size: int = 131072
    momentum: float = 0.9995
    min_ratio: float = 0.1
    max_ratio: float = 0.5
    token_dropout: float = 0.1
    head: str = "none"

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("temperature")
        self.check("min_ratio", lambda v: 0.0 < v <= self.max_ratio <= 1.0,
                   "in (0, max_ratio] with max_ratio <= 1")
        self.check("token_dropout", lambda v: 0.0 <= v < 1.0, "in [0, 1)")
        self.check_choice("head", HEADS)


# --- methods -----------------------------------------------------------------------------


def ring_enqueue(queue: jax.Array, pointer: jax.Array, items: jax.Array):
    """Write unit rows of ``items [B, D]`` at ``pointer, pointer + 1, ...`` modulo K (any K >=
    B, e.g. ESimCSE's 2.5 x batch); returns ``(queue, (pointer + B) % K)``."""
    items = losses.l2_normalize(jax.lax.stop_gradient(items)).astype(queue.dtype)
    size = queue.shape[0]
    rows = (pointer + jnp.arange(items.shape[0])) % size
    return queue.at[rows].set(items), (pointer + items.shape[0]) % size


class _QueueMixin:
    """A momentum copy of the model (``state["target"]``) and a ring queue of its unit keys."""

    def check_queue(self):
        if self.options.queue_size < self.batch_size:
            raise ValueError(f"config.method.queue_size={self.options.queue_size} must be at "
                             f"least the global batch config.batch_size={self.batch_size}.")

    def initial_state(self, model, rng):
        dim = model.encoder.feature_dim
        return {"target": param_arrays(model), "step": jnp.zeros((), jnp.int32),
                "queue": init_queue(rng, self.options.queue_size, dim),
                "pointer": jnp.zeros((), jnp.int32)}

    def momentum_keys(self, model, method_state, tokens, rng):
        """``(new target params, stop-gradient keys [B, D])``: the EMA is updated first, as in
        ``methods.momentum`` (MoCo updates its key encoder inside the forward pass too)."""
        m = self.options.momentum
        target = jax.tree.map(lambda t, o: m * t + (1.0 - m) * o, method_state["target"],
                              param_arrays(model))
        _, keys = with_params(model, target)(tokens, train=True, rng=rng)
        return target, jax.lax.stop_gradient(keys)

    def advance(self, method_state, target, keys):
        queue, pointer = ring_enqueue(method_state["queue"], method_state["pointer"], keys)
        return {"target": target, "step": method_state["step"] + 1, "queue": queue,
                "pointer": pointer}


class ESimCSE(_QueueMixin, SimCSE):
    """ESimCSE. Options: ``ESimCSEOptions``. method_state: {"target", "step", "queue": unit
    keys [K, D] (random at start, as MoCo's), "pointer"}. Queries: the sentence and its word
    repetition through the online model; the momentum model's embeddings of the sentence are
    enqueued after the loss (the queue holds earlier batches only)."""

    options_type = ESimCSEOptions

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        self.check_queue()

    def loss(self, model, method_state, batch, rng):
        o, tokens = self.options, batch["text"]
        rep_rng, aug_rng, drop_rng, key_rng = jax.random.split(rng, 4)
        r1, r2 = jax.random.split(aug_rng)
        repeated = augment_text.word_repetition(rep_rng, tokens, dup_rate=o.dup_rate)
        views = jnp.concatenate([self.augment(r1, tokens), self.augment(r2, repeated)])
        _, z = model(views, train=True, rng=drop_rng)
        z1, z2 = jnp.split(z, 2)
        target, keys = self.momentum_keys(model, method_state, tokens, key_rng)
        loss = batch_loss(
            lambda a, b, queue, **kw: losses.info_nce(a, b, temperature=o.temperature,
                                                      extra_negatives=queue, **kw),
            (z1, z2), (method_state["queue"],), options=o)
        metrics = {"loss": loss, "embedding_std": embedding_std(z1)}
        return loss, (metrics, self.advance(method_state, target, keys))


class Contriever(_QueueMixin, SimCSE):
    """Contriever (MoCo form). Options: ``ContrieverOptions``. method_state as ESimCSE's.
    Queries: crop 1 through the online model; keys: an independent crop 2 through the momentum
    model, enqueued after the loss."""

    options_type = ContrieverOptions

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        self.check_queue()

    def crop(self, rng, tokens):
        crop_rng, drop_rng = jax.random.split(rng)
        o = self.options
        view = augment_text.random_crop(crop_rng, tokens, min_ratio=o.min_ratio,
                                        max_ratio=o.max_ratio)
        return self.augment(drop_rng, view)

    def loss(self, model, method_state, batch, rng):
        tokens = batch["text"]
        q_rng, k_rng, drop_rng, key_rng = jax.random.split(rng, 4)
        _, query = model(self.crop(q_rng, tokens), train=True, rng=drop_rng)
        target, keys = self.momentum_keys(model, method_state, self.crop(k_rng, tokens),
                                          key_rng)
        loss = losses.queue_info_nce(query, keys, method_state["queue"],
                                     temperature=self.options.temperature)
        metrics = {"loss": loss, "embedding_std": embedding_std(query)}
        return loss, (metrics, self.advance(method_state, target, keys))
