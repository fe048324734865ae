"""Vision Transformer encoder with Ti/S/B presets.

"An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale", Dosovitskiy et
al., 2021 (ICLR); Ti/S sizes from DeiT ("Training data-efficient image transformers", Touvron
et al., 2021). Patches are embedded by a strided convolution, a learned CLS token and learned
position embeddings are added, then pre-LN blocks and a final LayerNorm. The classification
head is not part of the encoder.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax.models.transformer import TransformerStack

# name -> (width, depth, num_heads); mlp_ratio 4 for all.
PRESETS = {"ti": (192, 12, 3), "s": (384, 12, 6), "b": (768, 12, 12)}


class ViT(nnx.Module):
    """x: [B, H, W, C] -> features [B, width] (the CLS token, or the mean over patch tokens).

    ``patch_size`` must divide H and W. ``pool="cls"`` adds a CLS token (ViT); ``pool="mean"``
    has none and averages the patch tokens after the final LayerNorm. ``train`` is accepted for
    the encoder contract; a ViT without dropout behaves the same in both modes.
    """

    def __init__(self, *, in_shape: Sequence[int], patch_size: int = 16, width: int = 384,
                 depth: int = 12, num_heads: int = 6, mlp_ratio: float = 4.0, pool: str = "cls",
                 rngs: nnx.Rngs):
        height, image_width, channels = in_shape
        if pool not in ("cls", "mean"):
            raise ValueError(f"ViT pool must be 'cls' or 'mean', got {pool!r}.")
        if height % patch_size or image_width % patch_size:
            raise ValueError(f"ViT patch_size {patch_size} must divide the image size "
                             f"{height}x{image_width}.")
        self.pool = pool
        self.patch_embed = nnx.Conv(channels, width, (patch_size, patch_size),
                                    strides=(patch_size, patch_size), padding="VALID", rngs=rngs)
        num_tokens = (height // patch_size) * (image_width // patch_size) + (pool == "cls")
        init = nnx.initializers.normal(0.02)
        self.cls_token = nnx.Param(jnp.zeros((1, 1, width))) if pool == "cls" else None
        self.position_embedding = nnx.Param(init(rngs.params(), (1, num_tokens, width)))
        self.transformer = TransformerStack(width, depth=depth, num_heads=num_heads,
                                            mlp_ratio=mlp_ratio, rngs=rngs)
        self.feature_dim = width

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        tokens = self.patch_embed(x)
        tokens = tokens.reshape(tokens.shape[0], -1, tokens.shape[-1])  # [B, N, width]
        if self.cls_token is not None:
            cls = jnp.broadcast_to(self.cls_token[...], (tokens.shape[0], 1, tokens.shape[-1]))
            tokens = jnp.concatenate([cls, tokens], axis=1)
        tokens = self.transformer(tokens + self.position_embedding[...])
        return tokens[:, 0] if self.pool == "cls" else tokens.mean(axis=1)


def _preset(size: str):
    width, depth, num_heads = PRESETS[size]

    def build(*, in_shape, patch_size: int = 16, pool: str = "cls", rngs: nnx.Rngs) -> ViT:
        return ViT(in_shape=in_shape, patch_size=patch_size, width=width, depth=depth,
                   num_heads=num_heads, pool=pool, rngs=rngs)

    build.__name__ = f"vit_{size}"
    build.__doc__ = f"ViT-{size.upper()} (width {width}, depth {depth}, {num_heads} heads)."
    return build


vit_ti = _preset("ti")
vit_s = _preset("s")
vit_b = _preset("b")
