"""Pre-LayerNorm Transformer blocks shared by the ViT and the text encoder.

Block: ``x + Attn(LN(x))`` then ``x + MLP(LN(x))`` with a GELU MLP of ``mlp_ratio * width``
hidden units ("Attention Is All You Need", Vaswani et al., 2017; the pre-LN placement as in
ViT, Dosovitskiy et al., 2021, and GPT-2). Attention logits and softmax are computed in float32.
No dropout by default (the self-supervised image recipes train without it); ``dropout`` with a
key drops the attention and MLP outputs before each residual sum (BERT's placement, Devlin et
al., 2019; the text encoders use it: SimCSE's augmentation is this dropout).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class SelfAttention(nnx.Module):
    """Multi-head self-attention with a fused qkv projection (biases on, as in ViT/CLIP).

    x: [B, T, width]; mask: None or bool broadcastable to [B, heads, T, T] (True = attend).
    Returns [B, T, width].
    """

    def __init__(self, width: int, *, num_heads: int, rngs: nnx.Rngs):
        if width % num_heads:
            raise ValueError(f"width {width} is not divisible by num_heads {num_heads}.")
        self.num_heads = num_heads
        self.qkv = nnx.Linear(width, 3 * width, rngs=rngs)
        self.out = nnx.Linear(width, width, rngs=rngs)

    def __call__(self, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
        batch, length, width = x.shape
        head_dim = width // self.num_heads
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, head_dim)
        q, k, v = (qkv[:, :, i] for i in range(3))  # [B, T, H, d]
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k).astype(jnp.float32) / jnp.sqrt(head_dim)
        if mask is not None:
            logits = jnp.where(mask, logits, jnp.finfo(jnp.float32).min)
        weights = jax.nn.softmax(logits, axis=-1).astype(v.dtype)
        attended = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, length, width)
        return self.out(attended)


class MLPBlock(nnx.Module):
    """Linear(width -> hidden) - GELU - Linear(hidden -> width). x: [..., width]."""

    def __init__(self, width: int, hidden: int, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(width, hidden, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, width, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fc2(nnx.gelu(self.fc1(x), approximate=False))


def dropout(rng: jax.Array | None, x: jax.Array, rate: float) -> jax.Array:
    """Inverted dropout: each entry zeroed with probability ``rate``, the rest scaled by
    ``1 / (1 - rate)``; the identity for ``rate == 0`` or ``rng is None``."""
    if rate <= 0.0 or rng is None:
        return x
    keep = jax.random.bernoulli(rng, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros((), x.dtype)).astype(x.dtype)


class TransformerBlock(nnx.Module):
    """One pre-LN block. x: [B, T, width] -> [B, T, width]."""

    def __init__(self, width: int, *, num_heads: int, mlp_ratio: float = 4.0, rngs: nnx.Rngs):
        self.norm1 = nnx.LayerNorm(width, epsilon=1e-6, rngs=rngs)
        self.attention = SelfAttention(width, num_heads=num_heads, rngs=rngs)
        self.norm2 = nnx.LayerNorm(width, epsilon=1e-6, rngs=rngs)
        self.mlp = MLPBlock(width, int(round(mlp_ratio * width)), rngs=rngs)

    def __call__(self, x: jax.Array, mask: jax.Array | None = None, *, dropout_rate: float = 0.0,
                 rng: jax.Array | None = None) -> jax.Array:
        """``rng`` + ``dropout_rate``: dropout on both branches (train mode)."""
        rngs = (None, None) if rng is None else tuple(jax.random.split(rng))
        x = x + dropout(rngs[0], self.attention(self.norm1(x), mask), dropout_rate)
        return x + dropout(rngs[1], self.mlp(self.norm2(x)), dropout_rate)


class TransformerStack(nnx.Module):
    """``depth`` blocks followed by a final LayerNorm. x: [B, T, width] -> [B, T, width]."""

    def __init__(self, width: int, *, depth: int, num_heads: int, mlp_ratio: float = 4.0,
                 rngs: nnx.Rngs):
        if depth < 1:
            raise ValueError(f"a Transformer needs depth >= 1, got {depth}.")
        self.blocks = nnx.List([
            TransformerBlock(width, num_heads=num_heads, mlp_ratio=mlp_ratio, rngs=rngs)
            for _ in range(depth)])
        self.final_norm = nnx.LayerNorm(width, epsilon=1e-6, rngs=rngs)

    def __call__(self, x: jax.Array, mask: jax.Array | None = None, *, dropout_rate: float = 0.0,
                 rng: jax.Array | None = None) -> jax.Array:
        """``rng`` + ``dropout_rate``: dropout in every block (one key per block)."""
        for index, block in enumerate(self.blocks):
            key = None if rng is None else jax.random.fold_in(rng, index)
            x = block(x, mask, dropout_rate=dropout_rate, rng=key)
        return self.final_norm(x)
