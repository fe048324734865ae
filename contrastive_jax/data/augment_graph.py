"""On-device views of a graph for GRACE, in JAX: edge dropping and feature masking.

Zhu et al., "Deep Graph Contrastive Representation Learning" (GRACE), ICML GRL+ Workshop 2020,
Sec. 3.2 and the released ``train.py``: each of the two views drops every (directed) edge
independently with probability ``p_e`` (``dropout_adj``) and masks feature *dimensions*: one
draw ``m ~ Bernoulli(1 - p_f)^F`` zeroes the same columns of every node (``drop_feature``).

The draws and their application are separate functions, so a test can apply known masks:
``edge_keep_mask`` / ``drop_edges`` (a dropped edge keeps its row with ``edge_mask`` False, so
shapes stay fixed under jit) and ``feature_keep_mask`` / ``mask_features``. ``grace`` is the
preset for ``registry.AUGMENTATIONS`` (``augment.name="grace"``): a view function
``(rng, x [N, F], edge_mask [E]) -> GraphViews`` with GRACE's Cora rates as defaults.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


def edge_keep_mask(rng: jax.Array, num_edges: int, drop_rate: float) -> jax.Array:
    """bool ``[E]``: each entry True with probability ``1 - drop_rate``."""
    return jax.random.uniform(rng, (num_edges,)) >= drop_rate


def drop_edges(edge_mask: jax.Array, keep: jax.Array) -> jax.Array:
    """The view's edge mask: an edge stays if it is real (``edge_mask``) and kept."""
    return edge_mask & keep


def feature_keep_mask(rng: jax.Array, num_features: int, drop_rate: float) -> jax.Array:
    """bool ``[F]``: each feature dimension kept with probability ``1 - drop_rate``."""
    return jax.random.uniform(rng, (num_features,)) >= drop_rate


def mask_features(x: jax.Array, keep: jax.Array) -> jax.Array:
    """``x: [N, F]`` with the columns where ``keep: [F]`` is False set to zero."""
    return jnp.where(keep[None, :], x, jnp.zeros((), x.dtype))


class GraphViews(NamedTuple):
    """Two views of one graph: features ``[N, F]`` and edge masks ``[E]`` (same edge list)."""

    x1: jax.Array
    edge_mask1: jax.Array
    x2: jax.Array
    edge_mask2: jax.Array


def graph_views(rng: jax.Array, x: jax.Array, edge_mask: jax.Array, *,
                drop_edge: tuple[float, float], drop_feature: tuple[float, float]) -> GraphViews:
    """GRACE's two views: view k drops edges at ``drop_edge[k]`` and feature columns at
    ``drop_feature[k]``, all draws from ``rng``."""
    keys = jax.random.split(rng, 4)
    views = []
    for k in range(2):
        keep_e = edge_keep_mask(keys[2 * k], edge_mask.shape[0], drop_edge[k])
        keep_f = feature_keep_mask(keys[2 * k + 1], x.shape[1], drop_feature[k])
        views += [mask_features(x, keep_f), drop_edges(edge_mask, keep_e)]
    return GraphViews(*views)


def _check_rates(name, rates):
    rates = tuple(float(r) for r in rates)
    if len(rates) != 2 or not all(0 <= r < 1 for r in rates):
        raise ValueError(f"augment.{name} must be two rates in [0, 1) (one per view), got {rates}.")
    return rates


def grace(*, drop_edge=(0.2, 0.4), drop_feature=(0.3, 0.4)):
    """The GRACE view function (defaults: the released Cora setting,
    ``drop_edge_rate_1/2 = 0.2/0.4``, ``drop_feature_rate_1/2 = 0.3/0.4``)."""
    drop_edge = _check_rates("drop_edge", drop_edge)
    drop_feature = _check_rates("drop_feature", drop_feature)

    def views(rng, x, edge_mask):
        return graph_views(rng, x, edge_mask, drop_edge=drop_edge, drop_feature=drop_feature)

    views.num_views = 2
    views.graph_views = True
    views.drop_edge, views.drop_feature = drop_edge, drop_feature
    return views
