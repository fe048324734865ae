"""A graph convolutional network over a padded edge list, in Flax NNX.

Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional Networks", ICLR 2017:
one layer is ``H' = act(D^-1/2 (A + I) D^-1/2 H W + b)`` with ``D`` the degrees of ``A + I``.
Here ``A`` is given as a directed edge list ``edges: int [E, 2]`` of (source, target) pairs and
``edge_mask: bool [E]`` (False rows are padding or dropped edges and count for nothing), so
``A[t, s] = 1`` for every kept pair, degrees are ``1 + in-degree``, and the aggregation is a
``jax.ops.segment_sum`` over targets: jit-able with a fixed ``E`` whatever the number of kept
edges (a view that drops edges recomputes the degrees, as GRACE's ``GCNConv`` does).

``GCNEncoder`` is GRACE's encoder (Zhu et al., "Deep Graph Contrastive Representation
Learning", ICML GRL+ Workshop 2020; the released ``model.py``): ``num_layers`` (2) GCN layers,
hidden width ``2 * output_dim``, the activation (ReLU) after every layer including the last.
Weights are Glorot-uniform and biases zero (PyG's ``GCNConv`` initialisation).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx


def gcn_norm_coefficients(edges: jax.Array, edge_mask: jax.Array, num_nodes: int):
    """``(edge coefficients [E], self-loop coefficients [N])`` of ``D^-1/2 (A + I) D^-1/2``:
    ``1 / sqrt(d_s d_t)`` per kept edge (0 for masked rows) and ``1 / d_i`` per node, where
    ``d_i = 1 + #kept edges into i``."""
    weight = edge_mask.astype(jnp.float32)
    degree = 1.0 + jax.ops.segment_sum(weight, edges[:, 1], num_segments=num_nodes)
    inv_sqrt = jax.lax.rsqrt(degree)
    return weight * inv_sqrt[edges[:, 0]] * inv_sqrt[edges[:, 1]], 1.0 / degree


def gcn_propagate(h: jax.Array, edges: jax.Array, edge_mask: jax.Array) -> jax.Array:
    """``D^-1/2 (A + I) D^-1/2 h`` for ``h: [N, F]`` (see ``gcn_norm_coefficients``)."""
    coefficient, self_coefficient = gcn_norm_coefficients(edges, edge_mask, h.shape[0])
    messages = coefficient.astype(h.dtype)[:, None] * h[edges[:, 0]]
    return (jax.ops.segment_sum(messages, edges[:, 1], num_segments=h.shape[0])
            + self_coefficient.astype(h.dtype)[:, None] * h)


class GCNLayer(nnx.Module):
    """``D^-1/2 (A + I) D^-1/2 h W + b`` (no activation)."""

    def __init__(self, in_dim: int, out_dim: int, *, rngs: nnx.Rngs):
        self.linear = nnx.Linear(in_dim, out_dim, use_bias=False,
                                 kernel_init=nnx.initializers.glorot_uniform(), rngs=rngs)
        self.bias = nnx.Param(jnp.zeros((out_dim,), jnp.float32))

    def __call__(self, h, edges, edge_mask):
        return gcn_propagate(self.linear(h), edges, edge_mask) + self.bias.value


ACTIVATIONS = {"relu": jax.nn.relu, "elu": jax.nn.elu}


class GCNEncoder(nnx.Module):
    """GRACE's GCN encoder: ``x: [N, F]`` (or ``[1, N, F]``), ``edges: int [E, 2]``,
    ``edge_mask: bool [E]`` -> node representations ``[N, output_dim]``.

    Args:
      in_shape: ``(N, F)``, the graph's node count and feature width.
      output_dim: representation width (128, GRACE's Cora setting).
      hidden_dims: widths of the layers before the last (default ``(2 * output_dim,)``, two
        layers in all, as GRACE).
      activation: "relu" (GRACE's Cora setting) or "elu".
    """

    def __init__(self, *, in_shape: Sequence[int], rngs: nnx.Rngs, output_dim: int = 128,
                 hidden_dims: Sequence[int] | None = None, activation: str = "relu"):
        if len(in_shape) != 2:
            raise ValueError(f"the gcn encoder reads node features [N, F]; got an example of "
                             f"shape {tuple(in_shape)} (use a graph:<name> dataset).")
        if activation not in ("relu", "elu"):
            raise ValueError(f"gcn encoder: activation {activation!r}; valid: 'relu', 'elu'.")
        hidden = (2 * output_dim,) if hidden_dims is None else tuple(hidden_dims)
        widths = (int(in_shape[1]), *hidden, int(output_dim))
        self.layers = nnx.List([GCNLayer(a, b, rngs=rngs) for a, b in zip(widths, widths[1:])])
        self.activation = activation
        self.feature_dim = int(output_dim)

    def __call__(self, x, edges, edge_mask, train: bool = False):
        del train  # no dropout or normalisation statistics
        if x.ndim == 3:  # a batch of one graph
            x, edges, edge_mask = x[0], edges[0], edge_mask[0]
        act = ACTIVATIONS[self.activation]
        h = x.astype(jnp.float32)
        for layer in self.layers:
            h = act(layer(h, edges, edge_mask))
        return h
