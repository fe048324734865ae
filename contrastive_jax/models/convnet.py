"""A small CPU-friendly convolutional encoder: [conv3x3 - BatchNorm - ReLU (- maxpool)] x L."""

from __future__ import annotations

from typing import Sequence

import jax
from flax import nnx


# Pooling stops before a feature map would fall below this size on either side.
MIN_POOLED_SIZE = 4


def pooled_blocks(height: int, width: int, num_pooled: int) -> int:
    """How many of the first ``num_pooled`` blocks max-pool: each halves the resolution while the
    result stays at least ``MIN_POOLED_SIZE`` on both sides. A 28x28 image keeps 2 poolings
    (7x7 features); an 8x8 image (``digits``) gets one (4x4 features, not 2x2)."""
    count = 0
    while count < num_pooled and min(height, width) // 2 >= MIN_POOLED_SIZE:
        height, width, count = height // 2, width // 2, count + 1
    return count


def max_pool_2x2(x: jax.Array) -> jax.Array:
    """2x2 max-pool with stride 2 (a trailing odd row or column is dropped, as with VALID
    padding): ``nnx.max_pool(x, (2, 2), strides=(2, 2))`` written as a reshape and a max.

    The values are the same. The gradient is an elementwise mask (split evenly among tied
    maxima, where ``reduce_window``'s gradient picks one; after a ReLU the only likely ties are
    zeros, whose gradient the ReLU zeroes anyway). ``reduce_window``'s gradient
    (``select_and_scatter``) made XLA:CPU materialize int32 index maps of the whole feature map
    every step: about a third of the default convnet's train step (``benchmarks/step_profile.py``).

    x: [B, H, W, C] -> [B, H // 2, W // 2, C].
    """
    batch, height, width, channels = x.shape
    x = x[:, : height // 2 * 2, : width // 2 * 2]
    return x.reshape(batch, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))


class ConvNet(nnx.Module):
    """Conv blocks of ``widths`` channels; the first ``num_pooled`` blocks halve the resolution
    (fewer on small images: see ``pooled_blocks``).

    ``norm="none"`` drops BatchNorm (conv biases instead), making every example's features
    independent of the rest of the batch (needed for exact GradCache chunking).

    The representation is the flattened last feature map (``pool="flatten"``, as used for linear
    probes of small convnets) or its global average (``pool="mean"``).

    x: [B, H, W, C] -> features: [B, feature_dim].
    """

    def __init__(self, *, in_shape: Sequence[int], widths: Sequence[int] = (32, 64, 64),
                 num_pooled: int = 2, pool: str = "flatten", norm: str = "batch",
                 rngs: nnx.Rngs):
        if pool not in ("flatten", "mean"):
            raise ValueError(f"ConvNet pool must be 'flatten' or 'mean', got {pool!r}.")
        if norm not in ("batch", "none"):
            raise ValueError(f"ConvNet norm must be 'batch' or 'none', got {norm!r}.")
        height, width, channels = in_shape
        if num_pooled > len(widths):
            raise ValueError(f"num_pooled={num_pooled} exceeds the number of blocks {len(widths)}.")
        self.convs = nnx.List()
        self.norms = nnx.List()
        for out_channels in widths:
            self.convs.append(nnx.Conv(channels, out_channels, (3, 3), use_bias=norm == "none",
                                       rngs=rngs))
            self.norms.append(nnx.BatchNorm(out_channels, momentum=0.9, rngs=rngs)
                              if norm == "batch" else None)
            channels = out_channels
        self.num_pooled = pooled_blocks(height, width, num_pooled)
        self.pool = pool
        spatial = (height // 2**self.num_pooled) * (width // 2**self.num_pooled)
        self.feature_dim = channels * spatial if pool == "flatten" else channels

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = conv(x)
            if norm is not None:
                x = norm(x, use_running_average=not train)
            x = nnx.relu(x)
            if index < self.num_pooled:
                x = max_pool_2x2(x)
        if self.pool == "mean":
            return x.mean(axis=(1, 2))
        return x.reshape(x.shape[0], -1)
