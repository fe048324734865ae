"""DINO's projection head: an MLP to a bottleneck, L2 normalization, then a weight-normalized
linear layer with K outputs.

"Emerging Properties in Self-Supervised Vision Transformers", Caron et al., 2021 (ICCV), as the
official ``DINOHead``: ``num_layers - 1`` x [Linear (- BatchNorm) - GELU], Linear to
``bottleneck_dim``, ``x / ||x||``, then ``x @ (g v / ||v||)`` with one ``g`` per output; with
``norm_last_layer`` (the default) ``g`` is fixed at 1, so the outputs are cosines with K unit
vectors. Weight normalization is a reparametrization: gradients flow through ``v / ||v||``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def _unit(x: jax.Array, axis: int) -> jax.Array:
    """``x / ||x||`` along ``axis`` with a finite gradient at 0."""
    return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, axis=axis, keepdims=True), 1e-24))


class WeightNormLinear(nnx.Module):
    """``x [B, D] -> x @ W`` with ``W[:, k] = g_k v[:, k] / ||v[:, k]||`` (no bias).

    ``v``: [D, K]; ``g``: [K] learnable unless ``fixed_norm`` (then 1, as ``norm_last_layer``).
    """

    def __init__(self, in_dim: int, out_dim: int, *, fixed_norm: bool = True, rngs: nnx.Rngs):
        self.v = nnx.Param(jax.random.truncated_normal(rngs.params(), -2.0, 2.0,
                                                       (in_dim, out_dim)) * 0.02)
        self.g = None if fixed_norm else nnx.Param(jnp.ones((out_dim,)))

    def weight(self, frozen: jax.Array | bool = False) -> jax.Array:
        """[D, K] the effective weight; ``frozen``: no gradient reaches ``v`` and ``g``."""
        v = self.v[...]
        v = jnp.where(frozen, jax.lax.stop_gradient(v), v)
        weight = _unit(v, axis=0)
        if self.g is not None:
            g = self.g[...]
            weight = weight * jnp.where(frozen, jax.lax.stop_gradient(g), g)
        return weight

    def __call__(self, x: jax.Array, *, frozen: jax.Array | bool = False) -> jax.Array:
        return x @ self.weight(frozen).astype(x.dtype)


class DINOHead(nnx.Module):
    """x: [B, in_dim] -> (bottleneck [B, bottleneck_dim] before normalization, logits [B, K]).

    ``norm``: "none" (the official default, ``use_bn_in_head=False``) or "batch".
    """

    def __init__(self, in_dim: int, *, out_dim: int, hidden_dim: int = 2048,
                 bottleneck_dim: int = 256, num_layers: int = 3, norm: str = "none",
                 norm_last_layer: bool = True, rngs: nnx.Rngs):
        if num_layers < 1:
            raise ValueError(f"DINOHead needs num_layers >= 1, got {num_layers}.")
        if norm not in ("batch", "none"):
            raise ValueError(f"DINOHead norm must be 'batch' or 'none', got {norm!r}.")
        init = nnx.initializers.truncated_normal(0.02)
        zeros = nnx.initializers.zeros
        self.linears = nnx.List()
        self.norms = nnx.List()
        dim = in_dim
        for _ in range(num_layers - 1):
            # No bias before a BatchNorm: it would cancel (a parameter with a zero gradient).
            self.linears.append(nnx.Linear(dim, hidden_dim, kernel_init=init, bias_init=zeros,
                                           use_bias=norm == "none", rngs=rngs))
            self.norms.append(nnx.BatchNorm(hidden_dim, momentum=0.9, rngs=rngs)
                              if norm == "batch" else None)
            dim = hidden_dim
        self.bottleneck = nnx.Linear(dim, bottleneck_dim, kernel_init=init, bias_init=zeros,
                                     rngs=rngs)
        self.last_layer = WeightNormLinear(bottleneck_dim, out_dim, fixed_norm=norm_last_layer,
                                           rngs=rngs)

    def project(self, x: jax.Array, *, train: bool) -> jax.Array:
        """The MLP up to the bottleneck (before the L2 normalization)."""
        for linear, norm in zip(self.linears, self.norms):
            x = linear(x)
            if norm is not None:
                x = norm(x, use_running_average=not train)
            x = nnx.gelu(x, approximate=False)
        return self.bottleneck(x)

    def __call__(self, x: jax.Array, *, train: bool,
                 frozen_last_layer: jax.Array | bool = False) -> jax.Array:
        z = self.project(x, train=train)
        z = _unit(z, axis=-1)
        return self.last_layer(z, frozen=frozen_last_layer)
