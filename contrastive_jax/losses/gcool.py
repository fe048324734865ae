"""gCooL's community-reweighted node contrast (ReSC).

Li, Jing, Tong, "Graph Communal Contrastive Learning", WWW 2022. GRACE's node-level InfoNCE
(``losses.grace``) with every negative pair down-weighted by how much the two nodes share a
community::

    l(u_i, v_i) = -log  e^{s_ii / tau} /
                  ( e^{s_ii / tau} + sum_{k != i} w_ik e^{theta(u_i, v_k) / tau}
                                   + sum_{k != i} w_ik e^{theta(u_i, u_k) / tau} ),
    w_ik = exp(-gamma r_i . r_k),

with ``r_i`` node i's (soft or one-hot) community assignment, symmetrized over the views and
averaged over nodes. Two nodes of one community are then weak negatives (weight ``e^-gamma``
for one-hot assignments), nodes of different communities full ones. The communities come from
the caller (``methods.grace`` assigns them by k-means on the detached embeddings each step; the
paper learns them with its Dense Community Aggregation objective, not reproduced here). The
paper's text was not available to check the weight's exact form; this is the form described
above, with ``gamma = 0`` giving GRACE exactly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses._common import global_mean
from contrastive_jax.losses.grace import node_contrast


def gcool(u: jax.Array, v: jax.Array, communities: jax.Array, *, temperature: float = 0.5,
          gamma: float = 1.0, normalize: bool = True,
          axis_name: str | None = None) -> jax.Array:
    """gCooL's reweighted node contrast (formula in the module docstring).

    Args:
      u: [N, D] node embeddings of view 1.
      v: [N, D] the same nodes in view 2.
      communities: [N, K] community assignments (one-hot or soft, rows summing to 1); not
        differentiated through.
      temperature: tau (0.5).
      gamma: strength of the down-weighting of same-community negatives (1.0; 0 gives GRACE).
      normalize: L2-normalize the embeddings first (cosine similarity).
      axis_name: mesh axis the nodes are sharded over (inside ``shard_map``), or None.

    Returns:
      Scalar: the mean over nodes of the symmetrized loss.

    Paper: Li, Jing, Tong, "Graph Communal Contrastive Learning", WWW 2022.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> u = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> r = jnp.array([[1.0], [1.0]])  # one community: the negatives weigh e^-1
      >>> print(round(float(losses.gcool(u, u, r, temperature=1.0, gamma=1.0)), 4))
      0.2395
    """
    per_node = node_contrast(u, v, temperature=temperature, normalize=normalize,
                             communities=jax.lax.stop_gradient(communities), gamma=gamma,
                             axis_name=axis_name)
    return global_mean(jnp.mean(per_node), axis_name)
