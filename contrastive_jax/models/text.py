"""A small text Transformer for image-text contrastive learning (CLIP / SigLIP towers).

Token + learned position embeddings, pre-LN blocks (``models.transformer``), final LayerNorm,
then one vector per sequence: the last non-pad token (CLIP pools at the end-of-text token,
which is the last real token of a sequence without an explicit EOS id) or the mean over the
non-pad tokens. With ``causal=True`` each token attends to itself and earlier tokens only, as
in CLIP's text encoder ("Learning Transferable Visual Models From Natural Language
Supervision", Radford et al., 2021); pad tokens are never attended to.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax.models.transformer import TransformerStack


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

    pool: ``"last"`` (last non-pad token) or ``"mean"`` (mean over non-pad tokens).
    ``train`` is accepted for the encoder contract (no dropout: both modes are equal).
    """

    def __init__(self, *, vocab_size: int, max_len: int, width: int = 256, depth: int = 4,
                 num_heads: int = 4, mlp_ratio: float = 4.0, causal: bool = True,
                 pool: str = "last", pad_id: int = 0, rngs: nnx.Rngs):
        if pool not in ("last", "mean"):
            raise ValueError(f"TextTransformer pool must be 'last' or 'mean', got {pool!r}.")
        if vocab_size < 2 or max_len < 1:
            raise ValueError(f"TextTransformer needs vocab_size >= 2 and max_len >= 1, got "
                             f"{vocab_size} and {max_len}.")
        self.vocab_size = vocab_size
        self.max_len = max_len
        self.causal = causal
        self.pool = pool
        self.pad_id = pad_id
        self.token_embedding = nnx.Embed(vocab_size, width, rngs=rngs,
                                         embedding_init=nnx.initializers.normal(0.02))
        self.position_embedding = nnx.Param(
            nnx.initializers.normal(0.01)(rngs.params(), (1, max_len, width)))
        self.transformer = TransformerStack(width, depth=depth, num_heads=num_heads,
                                            mlp_ratio=mlp_ratio, rngs=rngs)
        self.feature_dim = width

    def __call__(self, tokens: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        length = tokens.shape[-1]
        if length > self.max_len:
            raise ValueError(f"token sequences of length {length} exceed max_len {self.max_len}.")
        x = self.token_embedding(tokens) + self.position_embedding[:, :length]
        x = self.transformer(x, attention_mask(tokens, pad_id=self.pad_id, causal=self.causal))
        if self.pool == "last":
            index = last_token_index(tokens, pad_id=self.pad_id)
            return jnp.take_along_axis(x, index[:, None, None], axis=1)[:, 0]
        real = (tokens != self.pad_id)[..., None].astype(x.dtype)
        return jnp.sum(x * real, axis=1) / jnp.maximum(jnp.sum(real, axis=1), 1.0)
