"""A small text Transformer: CLIP / SigLIP text towers and the text encoders (dense retrieval,
sentence embeddings).

Token + learned position embeddings, pre-LN blocks (``models.transformer``), final LayerNorm,
then one vector per sequence: the last non-pad token (CLIP pools at the end-of-text token,
which is the last real token of a sequence without an explicit EOS id), the mean over the
non-pad tokens, or a learned [CLS] token prepended to the sequence (``pool="cls"``: BERT's
pooling, Devlin et al., 2019; position 0, so ``max_len + 1`` positions). With ``causal=True``
each token attends to itself and earlier tokens only, as in CLIP's text encoder ("Learning
Transferable Visual Models From Natural Language Supervision", Radford et al., 2021);
``causal=False`` is the bidirectional encoder of BERT / DPR / SimCSE. Pad tokens are never
attended to. ``dropout`` (train mode, with a ``dropout_rng``) drops the embeddings and each
block's branches, as BERT does (SimCSE's only augmentation).

As a config encoder (``encoder.name="text_transformer"``) it is built with ``in_shape=(L,)``
(the source's ``info.image_shape``), so ``max_len`` defaults to ``L``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax.models.transformer import TransformerStack, dropout

POOLS = ("last", "mean", "cls")


def attention_mask(tokens: jax.Array, *, pad_id: int, causal: bool) -> jax.Array:
    """bool [B, 1, L, L]: query i may attend key j (j is not pad, and j <= i if causal).

    A query on a pad position still attends to itself, so no softmax row is empty.
    """
    length = tokens.shape[-1]
    keys = (tokens != pad_id)[:, None, None, :]
    if causal:
        keys = keys & jnp.tril(jnp.ones((length, length), bool))[None, None]
    return keys | jnp.eye(length, dtype=bool)[None, None]


def last_token_index(tokens: jax.Array, *, pad_id: int) -> jax.Array:
    """int [B]: position of the last non-pad token (0 for an all-pad row)."""
    positions = jnp.arange(tokens.shape[-1])
    return jnp.max(jnp.where(tokens != pad_id, positions, 0), axis=-1)


class TextTransformer(nnx.Module):
    """tokens: int [B, L] (ids < ``vocab_size``, ``pad_id`` pads, L <= ``max_len``) ->
    features [B, width].

    pool: ``"last"`` (last non-pad token), ``"mean"`` (mean over non-pad tokens) or ``"cls"``
    (a learned token prepended; bidirectional encoders only). ``dropout``: the rate of the
    dropout applied in train mode (``train=True`` and a ``dropout_rng``; 0: none, so both modes
    are equal). ``max_len`` or ``in_shape=(L,)`` (a config encoder's) sets the positions.
    """

    def __init__(self, *, vocab_size: int, max_len: int | None = None,
                 in_shape: tuple[int, ...] | None = None, width: int = 256, depth: int = 4,
                 num_heads: int = 4, mlp_ratio: float = 4.0, causal: bool = True,
                 pool: str = "last", dropout: float = 0.0, pad_id: int = 0, rngs: nnx.Rngs):
        if max_len is None:
            if not in_shape:
                raise ValueError("TextTransformer needs max_len (or in_shape=(L,)).")
            max_len = int(in_shape[0])
        if pool not in POOLS:
            raise ValueError(f"TextTransformer pool must be one of {POOLS}, got {pool!r}.")
        if pool == "cls" and causal:
            raise ValueError("TextTransformer pool='cls' reads a token at position 0, which a "
                             "causal encoder lets attend to nothing: use causal=False.")
        if vocab_size < 2 or max_len < 1:
            raise ValueError(f"TextTransformer needs vocab_size >= 2 and max_len >= 1, got "
                             f"{vocab_size} and {max_len}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"TextTransformer dropout must be in [0, 1), got {dropout}.")
        self.vocab_size = vocab_size
        self.max_len = max_len
        self.causal = causal
        self.pool = pool
        self.dropout = float(dropout)
        self.pad_id = pad_id
        self.token_embedding = nnx.Embed(vocab_size, width, rngs=rngs,
                                         embedding_init=nnx.initializers.normal(0.02))
        positions = max_len + (pool == "cls")
        self.position_embedding = nnx.Param(
            nnx.initializers.normal(0.01)(rngs.params(), (1, positions, width)))
        self.cls_token = (nnx.Param(nnx.initializers.normal(0.02)(rngs.params(), (1, 1, width)))
                          if pool == "cls" else None)
        self.transformer = TransformerStack(width, depth=depth, num_heads=num_heads,
                                            mlp_ratio=mlp_ratio, rngs=rngs)
        self.feature_dim = width

    def __call__(self, tokens: jax.Array, *, train: bool = False,
                 dropout_rng: jax.Array | None = None) -> jax.Array:
        length = tokens.shape[-1]
        if length > self.max_len:
            raise ValueError(f"token sequences of length {length} exceed max_len {self.max_len}.")
        if train and self.dropout > 0 and dropout_rng is None:
            raise ValueError("TextTransformer with dropout > 0 needs a dropout_rng in train mode.")
        rng = dropout_rng if train and self.dropout > 0 else None
        embed_rng, stack_rng = (None, None) if rng is None else tuple(jax.random.split(rng))
        x = self.token_embedding(tokens)
        if self.cls_token is not None:  # [CLS] first: never padding
            cls = jnp.broadcast_to(self.cls_token[...].astype(x.dtype), (len(x), 1, x.shape[-1]))
            x = jnp.concatenate([cls, x], axis=1)
            tokens = jnp.concatenate(
                [jnp.full((len(tokens), 1), self.pad_id + 1, tokens.dtype), tokens], axis=1)
        x = dropout(embed_rng, x + self.position_embedding[:, :x.shape[1]], self.dropout)
        x = self.transformer(x, attention_mask(tokens, pad_id=self.pad_id, causal=self.causal),
                             dropout_rate=self.dropout, rng=stack_rng)
        if self.pool == "cls":
            return x[:, 0]
        if self.pool == "last":
            index = last_token_index(tokens, pad_id=self.pad_id)
            return jnp.take_along_axis(x, index[:, None, None], axis=1)[:, 0]
        real = (tokens != self.pad_id)[..., None].astype(x.dtype)
        return jnp.sum(x * real, axis=1) / jnp.maximum(jnp.sum(real, axis=1), 1.0)
