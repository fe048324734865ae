"""TS2Vec's dilated convolutional encoder in Flax NNX.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022, Sec. 3.1
and the released ``models/encoder.py`` / ``dilated_conv.py``: a linear input projection to
``hidden_dim`` (64), timestamp masking of the projected steps, then ``depth`` (10) residual
blocks of two dilated convolutions (kernel 3, dilation ``2^i``, GELU before each) and a final
block to ``output_dim`` (320; dilation ``2^depth``, 1x1 projection on the residual), and
dropout 0.1 on the output in training. The instance representation is the max over time.

Shapes and masks: ``x: [B, T, C]``; ``mask: [B, T]`` (True = observed; a variable-length
series or a crop). Every convolution sees zeros outside ``mask`` -- the same as TS2Vec's
zero-padded convolution on the cut-out series -- so a padded series and its unpadded form give
the same representations at the observed steps. ``keep: [B, T]`` is the timestamp mask (the
projected input is zeroed where False; steps stay inside ``mask``). Differences from the
released code: padded steps are masked rather than NaN-filled and the max-pool over time
skips them (TS2Vec's max includes its NaN-padded steps); outputs outside ``mask`` are zero.
Parameters are initialised as PyTorch's defaults (uniform, bound ``1 / sqrt(fan_in)``), as in
the released model.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx


def _torch_uniform(fan_in: int):
    bound = 1.0 / math.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(
        key, shape, dtype, -bound, bound)


def _conv(in_dim: int, out_dim: int, kernel: int, dilation: int, rngs: nnx.Rngs) -> nnx.Conv:
    init = _torch_uniform(in_dim * kernel)
    return nnx.Conv(in_dim, out_dim, kernel_size=(kernel,), kernel_dilation=(dilation,),
                    padding="SAME", kernel_init=init, bias_init=init, rngs=rngs)


def gelu(x: jax.Array) -> jax.Array:
    return jax.nn.gelu(x, approximate=False)  # PyTorch's default (erf) GELU


class ConvBlock(nnx.Module):
    """``conv2(gelu(conv1(gelu(x)))) + residual(x)``; inputs of both convs zero outside mask."""

    def __init__(self, in_dim: int, out_dim: int, *, kernel: int, dilation: int, final: bool,
                 rngs: nnx.Rngs):
        self.conv1 = _conv(in_dim, out_dim, kernel, dilation, rngs)
        self.conv2 = _conv(out_dim, out_dim, kernel, dilation, rngs)
        self.projector = (_conv(in_dim, out_dim, 1, 1, rngs)
                          if in_dim != out_dim or final else None)

    def __call__(self, x: jax.Array, valid: jax.Array) -> jax.Array:
        residual = x if self.projector is None else self.projector(x)
        h = self.conv1(jnp.where(valid, gelu(x), 0.0))
        h = self.conv2(jnp.where(valid, gelu(h), 0.0))
        return h + residual


class TS2VecEncoder(nnx.Module):
    """``x: [B, T, C]`` -> ``[B, output_dim]`` (``__call__``, max over observed steps) or
    ``[B, T, output_dim]`` (``timestamps``). ``in_shape = (T, C)``."""

    def __init__(self, *, in_shape: Sequence[int], hidden_dim: int = 64, depth: int = 10,
                 output_dim: int = 320, kernel_size: int = 3, dropout: float = 0.1,
                 rngs: nnx.Rngs):
        channels = int(in_shape[-1])
        init = _torch_uniform(channels)
        self.input_fc = nnx.Linear(channels, hidden_dim, kernel_init=init, bias_init=init,
                                   rngs=rngs)
        widths = [hidden_dim] * depth + [output_dim]
        self.blocks = nnx.List()
        for i, width in enumerate(widths):
            self.blocks.append(ConvBlock(widths[i - 1] if i else hidden_dim, width,
                                         kernel=kernel_size, dilation=2 ** i,
                                         final=i == len(widths) - 1, rngs=rngs))
        self.dropout = float(dropout)
        self.feature_dim = int(output_dim)

    def timestamps(self, x: jax.Array, mask: jax.Array | None = None, *, train: bool,
                   keep: jax.Array | None = None,
                   dropout_rng: jax.Array | None = None) -> jax.Array:
        """Per-step representations ``[B, T, output_dim]`` (zero outside ``mask``)."""
        mask = jnp.ones(x.shape[:2], bool) if mask is None else mask.astype(bool)
        valid = mask[..., None]
        h = self.input_fc(jnp.where(valid, x, 0.0))
        visible = valid if keep is None else valid & keep[..., None]
        h = jnp.where(visible, h, 0.0)
        for block in self.blocks:
            h = block(h, valid)
        if train and self.dropout > 0 and dropout_rng is not None:
            kept = jax.random.bernoulli(dropout_rng, 1.0 - self.dropout, h.shape)
            h = jnp.where(kept, h / (1.0 - self.dropout), 0.0)
        return jnp.where(valid, h, 0.0)

    def __call__(self, x: jax.Array, mask: jax.Array | None = None, *,
                 train: bool = False) -> jax.Array:
        """The instance representation: the max over the observed steps, ``[B, output_dim]``
        (an all-masked row gives zeros)."""
        h = self.timestamps(x, mask, train=False)
        mask = jnp.ones(x.shape[:2], bool) if mask is None else mask.astype(bool)
        pooled = jnp.where(mask[..., None], h, -jnp.inf).max(axis=1)
        return jnp.where(mask.any(axis=1, keepdims=True), pooled, 0.0)
