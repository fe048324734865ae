"""A fully connected encoder on flattened images: [Linear - BatchNorm - ReLU] x len(widths).

The simplest baseline encoder (e.g. for 8x8 digits or quick objective comparisons).
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np
from flax import nnx


class MLPEncoder(nnx.Module):
    """x: [B, H, W, C] (flattened to [B, H*W*C]) -> features [B, widths[-1]]."""

    def __init__(self, *, in_shape: Sequence[int], widths: Sequence[int] = (512, 512),
                 rngs: nnx.Rngs):
        if not widths:
            raise ValueError("MLPEncoder needs at least one hidden width.")
        dim = int(np.prod(in_shape))
        self.linears = nnx.List()
        self.norms = nnx.List()
        for width in widths:
            self.linears.append(nnx.Linear(dim, width, use_bias=False, rngs=rngs))
            self.norms.append(nnx.BatchNorm(width, momentum=0.9, rngs=rngs))
            dim = width
        self.feature_dim = dim

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        for linear, norm in zip(self.linears, self.norms):
            x = nnx.relu(norm(linear(x), use_running_average=not train))
        return x
