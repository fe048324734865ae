"""Projection and predictor heads (SimCLR v1/v2 style MLPs)."""

from __future__ import annotations

import jax
from flax import nnx


class ProjectionMLP(nnx.Module):
    """MLP head: ``num_layers - 1`` x [Linear - BatchNorm - ReLU], then Linear (- BatchNorm).

    SimCLR (Chen et al., 2020) uses 2 layers; SimCLR v2 deepens it to 3. ``last_norm`` adds a
    final affine-free BatchNorm as in SimCLR v2 / BYOL projectors.

    x: [B, in_dim] -> [B, out_dim].
    """

    def __init__(self, in_dim: int, *, hidden_dim: int = 512, out_dim: int = 128,
                 num_layers: int = 2, last_norm: bool = False, norm: str = "batch",
                 rngs: nnx.Rngs):
        if num_layers < 1:
            raise ValueError(f"ProjectionMLP needs num_layers >= 1, got {num_layers}.")
        if norm not in ("batch", "none"):
            raise ValueError(f"ProjectionMLP norm must be 'batch' or 'none', got {norm!r}.")
        self.linears = nnx.List()
        self.norms = nnx.List()
        dim = in_dim
        for _ in range(num_layers - 1):
            self.linears.append(nnx.Linear(dim, hidden_dim, use_bias=norm == "none", rngs=rngs))
            self.norms.append(nnx.BatchNorm(hidden_dim, momentum=0.9, rngs=rngs)
                              if norm == "batch" else None)
            dim = hidden_dim
        self.output = nnx.Linear(dim, out_dim, use_bias=not last_norm, rngs=rngs)
        self.output_norm = (
            nnx.BatchNorm(out_dim, momentum=0.9, use_bias=False, use_scale=False, rngs=rngs)
            if last_norm and norm == "batch" else None
        )

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        for linear, norm in zip(self.linears, self.norms):
            x = linear(x)
            if norm is not None:
                x = norm(x, use_running_average=not train)
            x = nnx.relu(x)
        x = self.output(x)
        if self.output_norm is not None:
            x = self.output_norm(x, use_running_average=not train)
        return x
