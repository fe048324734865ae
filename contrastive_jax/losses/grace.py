"""GRACE's node-level InfoNCE with intra- and inter-view negatives.

Zhu et al., "Deep Graph Contrastive Representation Learning", ICML GRL+ Workshop 2020, Eq. 1-2.
For two views' node embeddings ``u, v: [N, D]`` and ``theta`` the cosine similarity::

    l(u_i, v_i) = -log  e^{theta(u_i, v_i) / tau} /
                  ( e^{theta(u_i, v_i) / tau} + sum_{k != i} e^{theta(u_i, v_k) / tau}
                                              + sum_{k != i} e^{theta(u_i, u_k) / tau} )
    J = 1 / (2N) sum_i [ l(u_i, v_i) + l(v_i, u_i) ]

(the inter-view negatives ``v_k`` and the intra-view negatives ``u_k``). ``node_contrast`` is the
building block shared with gCooL's reweighted form (``losses.gcool``): every negative's term is
multiplied by a weight ``w_ik = exp(-gamma r_i . r_k)`` from community assignments ``r``
(``gamma = 0``: GRACE).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses._common import gather_rows, global_mean, prepare, row_offset


def _directional(a, b, a_all, b_all, r, r_all, *, temperature, gamma, axis_name):
    """Per-anchor ``l(a_i, b_i)`` for this device's anchors ``a: [n, D]`` against every
    node's ``b_all, a_all: [N, D]``; log-weights ``-gamma r_i . r_k`` on the negatives."""
    n, total = a.shape[0], a_all.shape[0]
    own = row_offset(n, axis_name) + jnp.arange(n)
    is_self = own[:, None] == jnp.arange(total)[None, :]
    between = a @ b_all.T / temperature  # [n, N]
    within = a @ a_all.T / temperature
    log_w = jnp.zeros_like(between) if r is None else -gamma * (r @ r_all.T)
    between_w = jnp.where(is_self, 0.0, log_w)  # the positive keeps weight 1
    within_w = jnp.where(is_self, -jnp.inf, log_w)  # the anchor itself is not a negative
    logits = jnp.concatenate([between + between_w, within + within_w], axis=1)
    positive = jnp.sum(a * b, axis=1) / temperature
    return jax.nn.logsumexp(logits, axis=1) - positive


def node_contrast(u: jax.Array, v: jax.Array, *, temperature: float, normalize: bool = True,
                  communities: jax.Array | None = None, gamma: float = 0.0,
                  axis_name: str | None = None) -> jax.Array:
    """Per-node symmetrized losses ``[n]``: ``(l(u_i, v_i) + l(v_i, u_i)) / 2`` for this
    device's nodes, negatives reweighted by ``exp(-gamma r_i . r_k)`` when ``communities``
    (``r: [n, K]``) is given. Rows sharded over ``axis_name``: every device's nodes are
    negatives (all-gathered, exact gradients)."""
    u, v = prepare(u, normalize), prepare(v, normalize)
    u_all, v_all = gather_rows(u, axis_name), gather_rows(v, axis_name)
    r = r_all = None
    if communities is not None:
        r = jnp.asarray(communities, u.dtype)
        r_all = gather_rows(r, axis_name)
    kwargs = dict(temperature=temperature, gamma=gamma, axis_name=axis_name)
    return 0.5 * (_directional(u, v, u_all, v_all, r, r_all, **kwargs)
                  + _directional(v, u, v_all, u_all, r, r_all, **kwargs))


def grace(u: jax.Array, v: jax.Array, *, temperature: float = 0.5, normalize: bool = True,
          axis_name: str | None = None) -> jax.Array:
    """GRACE's symmetrized node-level InfoNCE (formula in the module docstring).

    Args:
      u: [N, D] node embeddings of view 1 (projector outputs); rows are nodes.
      v: [N, D] the same nodes in view 2.
      temperature: tau (0.5, the released ``Model``'s default; the Cora config uses 0.4).
      normalize: L2-normalize the embeddings first (cosine similarity, as the paper).
      axis_name: mesh axis the nodes are sharded over (inside ``shard_map``), or None.

    Returns:
      Scalar: the mean over nodes of ``(l(u_i, v_i) + l(v_i, u_i)) / 2``.

    Paper: Zhu et al., "Deep Graph Contrastive Representation Learning", ICML GRL+ Workshop 2020.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> u = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> print(round(float(losses.grace(u, u, temperature=1.0)), 4))
      0.5514
    """
    per_node = node_contrast(u, v, temperature=temperature, normalize=normalize,
                             axis_name=axis_name)
    return global_mean(jnp.mean(per_node), axis_name)
