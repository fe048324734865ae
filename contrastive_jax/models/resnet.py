"""ResNet-18 / ResNet-50 encoders (no classification head).

"Deep Residual Learning for Image Recognition", He et al., 2016 (CVPR). ``stem="imagenet"``:
7x7/2 convolution, BatchNorm, ReLU, 3x3/2 max-pool. ``stem="cifar"``: one 3x3/1 convolution and
no max-pool, the variant SimCLR uses for 32x32 images (Chen et al., 2020, App. B.9). Stages of
[2, 2, 2, 2] basic blocks (ResNet-18) or [3, 4, 6, 3] bottlenecks (ResNet-50); the stride-2
downsampling sits in the 3x3 convolution (torchvision's "ResNet v1.5"). Features are the global
average of the last stage: 512 x width_multiplier (18) or 2048 x width_multiplier (50).
"""

from __future__ import annotations

from typing import Sequence

import jax
from flax import nnx


def _conv(in_channels, out_channels, kernel, stride, rngs, padding=None):
    pad = (kernel - 1) // 2 if padding is None else padding
    return nnx.Conv(in_channels, out_channels, (kernel, kernel), strides=(stride, stride),
                    padding=((pad, pad), (pad, pad)), use_bias=False,
                    kernel_init=nnx.initializers.variance_scaling(2.0, "fan_out", "normal"),
                    rngs=rngs)


def _norm(channels, rngs, zero_scale=False):
    scale_init = nnx.initializers.zeros if zero_scale else nnx.initializers.ones
    return nnx.BatchNorm(channels, momentum=0.9, epsilon=1e-5, scale_init=scale_init, rngs=rngs)


class Shortcut(nnx.Module):
    """1x1 strided convolution + BatchNorm, where a block changes shape; identity otherwise."""

    def __init__(self, in_channels, out_channels, stride, rngs):
        self.conv = _conv(in_channels, out_channels, 1, stride, rngs, padding=0)
        self.norm = _norm(out_channels, rngs)

    def __call__(self, x, *, train):
        return self.norm(self.conv(x), use_running_average=not train)


class BasicBlock(nnx.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_channels, channels, stride, *, zero_init_residual, rngs):
        out_channels = channels * self.expansion
        self.convs = nnx.List([_conv(in_channels, channels, 3, stride, rngs),
                               _conv(channels, channels, 3, 1, rngs)])
        self.norms = nnx.List([_norm(channels, rngs),
                               _norm(out_channels, rngs, zero_scale=zero_init_residual)])
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = (Shortcut(in_channels, out_channels, stride, rngs)
                         if needs_projection else None)

    def __call__(self, x, *, train):
        residual = x if self.shortcut is None else self.shortcut(x, train=train)
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = norm(conv(x), use_running_average=not train)
            if index < len(self.convs) - 1:
                x = nnx.relu(x)
        return nnx.relu(x + residual)


class Bottleneck(BasicBlock):
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4, with a residual connection (ResNet-50)."""

    expansion = 4

    def __init__(self, in_channels, channels, stride, *, zero_init_residual, rngs):
        out_channels = channels * self.expansion
        self.convs = nnx.List([_conv(in_channels, channels, 1, 1, rngs, padding=0),
                               _conv(channels, channels, 3, stride, rngs),
                               _conv(channels, out_channels, 1, 1, rngs, padding=0)])
        self.norms = nnx.List([_norm(channels, rngs), _norm(channels, rngs),
                               _norm(out_channels, rngs, zero_scale=zero_init_residual)])
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = (Shortcut(in_channels, out_channels, stride, rngs)
                         if needs_projection else None)


class ResNet(nnx.Module):
    """x: [B, H, W, C] -> features [B, feature_dim] (global average pool of the last stage).

    block: ``BasicBlock`` or ``Bottleneck``; stage_sizes: blocks per stage; width: channels of
    the first stage (64 in the paper; smaller for CPU smoke tests).
    """

    def __init__(self, *, in_shape: Sequence[int], block=BasicBlock,
                 stage_sizes: Sequence[int] = (2, 2, 2, 2), width: int = 64,
                 stem: str = "imagenet", zero_init_residual: bool = False, rngs: nnx.Rngs):
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet stem must be 'imagenet' or 'cifar', got {stem!r}.")
        channels = in_shape[-1]
        self.stem_pool = stem == "imagenet"
        self.stem_conv = (_conv(channels, width, 7, 2, rngs) if self.stem_pool
                          else _conv(channels, width, 3, 1, rngs))
        self.stem_norm = _norm(width, rngs)
        self.blocks = nnx.List()
        in_channels = width
        for stage, num_blocks in enumerate(stage_sizes):
            channels = width * 2**stage
            for index in range(num_blocks):
                stride = 2 if stage > 0 and index == 0 else 1
                self.blocks.append(block(in_channels, channels, stride,
                                         zero_init_residual=zero_init_residual, rngs=rngs))
                in_channels = channels * block.expansion
        self.feature_dim = in_channels

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = nnx.relu(self.stem_norm(self.stem_conv(x), use_running_average=not train))
        if self.stem_pool:
            x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for block in self.blocks:
            x = block(x, train=train)
        return x.mean(axis=(1, 2))


def resnet18(*, in_shape, width_multiplier: float = 1.0, stem: str = "imagenet",
             zero_init_residual: bool = False, rngs: nnx.Rngs) -> ResNet:
    """ResNet-18: basic blocks [2, 2, 2, 2]; 512 x width_multiplier features."""
    return ResNet(in_shape=in_shape, block=BasicBlock, stage_sizes=(2, 2, 2, 2),
                  width=int(64 * width_multiplier), stem=stem,
                  zero_init_residual=zero_init_residual, rngs=rngs)


def resnet50(*, in_shape, width_multiplier: float = 1.0, stem: str = "imagenet",
             zero_init_residual: bool = False, rngs: nnx.Rngs) -> ResNet:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3]; 2048 x width_multiplier features."""
    return ResNet(in_shape=in_shape, block=Bottleneck, stage_sizes=(3, 4, 6, 3),
                  width=int(64 * width_multiplier), stem=stem,
                  zero_init_residual=zero_init_residual, rngs=rngs)
