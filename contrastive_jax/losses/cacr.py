"""Contrastive attraction and contrastive repulsion (CACR): softmax-weighted squared distances to
the positives (far ones weigh more) and to the negatives (near ones weigh more)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def _squared_distances(a, b):
    """``||a_i - b_j||^2`` for rows of a: [n, D] and b: [m, D] -> [n, m]."""
    sq = jnp.sum(a * a, -1)[:, None] + jnp.sum(b * b, -1)[None, :] - 2.0 * (a @ b.T)
    return jnp.maximum(sq, 0.0)


def cacr(views: jax.Array, *, tau_pos: float = 1.0, tau_neg: float = 1.0, alpha: float = 1.0,
         beta: float = 1.0, normalize: bool = True, axis_name: str | None = None) -> jax.Array:
    """CACR loss on V >= 2 views of a batch: contrastive attraction plus contrastive repulsion.

    With ``d(x, y) = ||x - y||^2`` on the (unit) embeddings ``z_v,i`` (view v, example i):

    ``L_attract = mean_{v, i} sum_{u != v} softmax_u(tau_pos d(z_v,i, z_u,i)) alpha d(z_v,i, z_u,i)``
    (the positives of a query are its own other views; the farther ones pull harder), and

    ``L_repulse = mean_{v < u} mean_i sum_{j != i} softmax_j(-tau_neg d(z_v,i, z_u,j))
    (-beta d(z_v,i, z_u,j))`` (the negatives of a query in view v are the other examples in
    view u; the nearer ones push harder); ``L = L_attract + L_repulse``.

    The weights are the conditional distributions of the paper's Eq. (CACR) and are not
    stop-gradient, as in the released code (``JegZheng/CACR-SSL``, ``small_scale_experiments/
    losses``: ``our_loss1 + our_loss2``, Euclidean cost, defaults tau_pos = tau_neg = alpha =
    beta = 1). With two views the attraction weight is 1 and ``L_attract`` is the mean squared
    distance between the views. With one example (B = 1) there are no negatives and
    ``L_repulse`` is 0.

    The repulsion is a softmax-weighted mean of distances, not a log-sum-exp, so it has no
    blockwise (``block_size``) form here: the [B, B] distances of each view pair are dense.

    Args:
      views: [V, B, D] embeddings of V >= 2 views of the same B examples.
      tau_pos: inverse temperature of the attraction weights over the positives (default 1.0).
      tau_neg: inverse temperature of the repulsion weights over the negatives (default 1.0).
      alpha: scale of the positive cost ``alpha d`` (default 1.0).
      beta: scale of the negative cost ``-beta d`` (default 1.0).
      normalize: L2-normalize the embeddings first (default True: the released encoder's
        output is normalized).
      axis_name: mesh axis inside ``jax.shard_map``; the examples of every device are
        negatives. None (default): one device.

    Returns:
      Scalar float32 loss (``L_attract + L_repulse`` over the global batch).

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
      ...                [[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]]])
      >>> print(f"{float(losses.cacr(z)):.4f}")
      -0.6670

    Paper: "Contrastive Attraction and Contrastive Repulsion for Representation Learning",
    Zheng et al., 2021 (TMLR 2023).
    """
    z = _common.prepare(views, normalize)
    num_views, local = z.shape[0], z.shape[1]
    if num_views < 2:
        raise ValueError(f"cacr needs at least 2 views, got views of shape {views.shape}.")

    # Attraction: each example's V - 1 positives, all on this device.
    attract = []
    for v in range(num_views):
        d = jnp.stack([jnp.sum((z[v] - z[u]) ** 2, -1) for u in range(num_views) if u != v],
                      axis=-1)  # [b, V - 1]
        weights = jax.nn.softmax(tau_pos * d, axis=-1)
        attract.append(jnp.sum(weights * alpha * d, axis=-1))
    attraction = _common.global_mean(jnp.mean(jnp.stack(attract)), axis_name)

    total = _common.global_count(local, axis_name)
    if total < 2:
        return attraction
    rows = _common.row_offset(local, axis_name) + jnp.arange(local)
    others = jnp.arange(total)[None, :] != rows[:, None]  # [b, B]: j != i
    repulse = []
    for v in range(num_views):
        for u in range(v + 1, num_views):
            d = _squared_distances(z[v], _common.gather_rows(z[u], axis_name))  # [b, B]
            logits = jnp.where(others, -tau_neg * d, -jnp.inf)
            weights = jax.nn.softmax(logits, axis=-1)
            repulse.append(jnp.sum(jnp.where(others, weights * (-beta * d), 0.0), axis=-1))
    repulsion = _common.global_mean(jnp.mean(jnp.stack(repulse), axis=-1).mean(), axis_name)
    return attraction + repulsion
