"""POT's node-compactness regulariser for graph contrastive learning, with interval bounds.

Yu, Wang, Zhang, Liu, Shi, "Provable Training for Graph Contrastive Learning", NeurIPS 2023.
*Node compactness* is a lower bound, over every augmented graph an edge-dropping view can
produce, of how well node i follows the contrastive principle::

    f_i = min_{A' in augmentations} h_i(A') . w_i,   w_i = z'_i - mean_{k != i} z'_k,

with ``h(A')`` the GCN encoder's output on the augmented graph and ``z'`` the other view's
L2-normalized embeddings (positive minus the mean negative). The augmentations are bounded
entry-wise: each node i loses at most ``m_i = min(max(d_i - 1, 0), round(p d_i))`` of its
``d_i`` edges (``p`` the view's edge-drop rate), so every entry of the normalized adjacency
``D^-1/2 (A + I) D^-1/2`` lies in ``[L, U]``: ``U_ij = 1 / sqrt((d_i + 1 - m_i)(d_j + 1 - m_j))``
on edges and the diagonal, ``L`` zero except its diagonal ``1 / (d_i + 1)`` (the paper's
bounds). The regulariser is binary cross-entropy towards "compact"::

    L_POT = mean_i softplus(-f_i),   L = (1 - kappa) L_GCL + kappa (L_POT(view 1) + L_POT(view 2)) / 2

(the released code's combination). Difference: the bound is propagated through the encoder
with interval arithmetic (IBP) rather than the paper's CROWN linear relaxation, so ``f_i`` is a
looser (smaller) lower bound, and it is used as the score directly rather than a linear bound
evaluated at the view's graph. The whole graph is one example (no ``axis_name``).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from contrastive_jax.losses._common import l2_normalize, upcast


def adjacency_bounds(edges: jax.Array, edge_mask: jax.Array, num_nodes: int, *,
                     drop_rate: float) -> tuple[jax.Array, jax.Array]:
    """``(L, U)`` dense ``[N, N]`` entry-wise bounds of the normalized adjacency with self
    loops over every view that drops at most ``round(drop_rate * d_i)`` of node i's edges
    (and keeps at least one). ``edges: int [E, 2]`` directed pairs, ``edge_mask: bool [E]``."""
    weight = edge_mask.astype(jnp.float32)
    adjacency = jnp.zeros((num_nodes, num_nodes), jnp.float32).at[
        edges[:, 1], edges[:, 0]].max(weight)
    degree = adjacency.sum(axis=1)
    max_drop = jnp.minimum(jnp.maximum(degree - 1.0, 0.0), jnp.round(drop_rate * degree))
    inv_sqrt = jax.lax.rsqrt(degree + 1.0 - max_drop)
    support = (adjacency + jnp.eye(num_nodes)) > 0
    upper = jnp.where(support, inv_sqrt[:, None] * inv_sqrt[None, :], 0.0)
    lower = jnp.diag(1.0 / (degree + 1.0))
    return lower, upper


def _interval_matmul_nonneg(a_lower, a_upper, lo, hi):
    """Bounds of ``A @ H`` for ``A`` in ``[a_lower, a_upper]`` (non-negative) and ``H`` in
    ``[lo, hi]``: each product's extremes are at the ends of both intervals."""
    low = a_lower @ jnp.maximum(lo, 0.0) + a_upper @ jnp.minimum(lo, 0.0)
    high = a_upper @ jnp.maximum(hi, 0.0) + a_lower @ jnp.minimum(hi, 0.0)
    return low, high


def gcn_output_bounds(x: jax.Array, a_lower: jax.Array, a_upper: jax.Array,
                      layers: Sequence[tuple[jax.Array, jax.Array]]):
    """Interval bounds ``(lo, hi) [N, D]`` of a ReLU GCN ``h <- relu(A h W + b)`` (ReLU after
    every layer) over every normalized adjacency ``A`` in ``[a_lower, a_upper]``."""
    lo = hi = upcast(x)
    for kernel, bias in layers:
        kernel = upcast(kernel)
        center, radius = (lo + hi) / 2 @ kernel, (hi - lo) / 2 @ jnp.abs(kernel)
        lo, hi = _interval_matmul_nonneg(a_lower, a_upper, center - radius, center + radius)
        lo, hi = jax.nn.relu(lo + bias), jax.nn.relu(hi + bias)
    return lo, hi


def node_compactness(lo: jax.Array, hi: jax.Array, other_view: jax.Array) -> jax.Array:
    """``f_i = min_{h_i in [lo_i, hi_i]} h_i . w_i`` with ``w_i = z_i - mean_{k != i} z_k``
    for the other view's L2-normalized ``z: [N, D]``: ``[N]``."""
    z = l2_normalize(other_view)
    n = z.shape[0]
    direction = z * (n / (n - 1)) - jnp.sum(z, axis=0, keepdims=True) / (n - 1)
    return jnp.sum(lo * jnp.maximum(direction, 0.0) + hi * jnp.minimum(direction, 0.0), axis=1)


def pot(x: jax.Array, edges: jax.Array, edge_mask: jax.Array,
        layers: Sequence[tuple[jax.Array, jax.Array]], other_view: jax.Array, *,
        drop_rate: float) -> jax.Array:
    """POT's regulariser ``mean_i softplus(-f_i)`` for one view (formula in the module
    docstring).

    Args:
      x: [N, F] the view's node features (after feature masking).
      edges: int [E, 2] the graph's directed (source, target) edges.
      edge_mask: bool [E] the real edges (padding False).
      layers: the GCN's ``(kernel [D_in, D_out], bias [D_out])`` per layer.
      other_view: [N, D] the other view's encoder outputs (the positive / negative directions).
      drop_rate: the view's edge-drop rate (the augmentation budget).

    Returns:
      Scalar: the mean binary cross-entropy of the compactness scores towards 1.

    Paper: Yu et al., "Provable Training for Graph Contrastive Learning", NeurIPS 2023.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> edges = jnp.array([[0, 1], [1, 0]]); mask = jnp.array([True, True])
      >>> layers = [(jnp.eye(2), jnp.zeros(2))]
      >>> value = losses.pot(jnp.eye(2), edges, mask, layers, jnp.eye(2), drop_rate=0.0)
      >>> print(round(float(value), 4))
      0.6931
    """
    a_lower, a_upper = adjacency_bounds(edges, edge_mask, x.shape[0], drop_rate=drop_rate)
    lo, hi = gcn_output_bounds(x, a_lower, a_upper, layers)
    return jnp.mean(jax.nn.softplus(-node_compactness(lo, hi, other_view)))
