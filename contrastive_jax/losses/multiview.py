"""Multi-view contrastive objectives with one term per data point: MV-InfoNCE and MV-DHEL.

Notation: views ``u_i^l`` (view l of point i), ``s = <u, u'> / t`` on the unit sphere.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def _check_views(views):
    if views.ndim != 3 or views.shape[0] < 2:
        raise ValueError(f"views must be [V, N, D] with V >= 2, got shape {views.shape}.")


def _same_point_logits(x, temperature):
    """[n, V, V] logits between the views of each local point."""
    return jnp.einsum("lid,mid->ilm", x, x) / temperature


def multiview_info_nce(views: jax.Array, *, temperature: float = 0.1, normalize: bool = True,
                       axis_name: str | None = None) -> jax.Array:
    """MV-InfoNCE: one InfoNCE term per point covering every view interaction.

    ``L = mean_i -log [ sum_{l != l'} e^{s(u_i^l, u_i^l')}
                        / ( sum_{l != l'} e^{s(u_i^l, u_i^l')} + sum_{l, l'} sum_{j != i} e^{s(u_i^l, u_j^l')} ) ]``

    The numerator holds all V(V-1) ordered positive pairs of point i; the denominator adds every
    view of every other point against every view of i (all (l, j, l') except self). As in the
    authors' code. N = 1 gives 0.

    Args:
      views: [V, N, D] V >= 2 views of N points.
      temperature: logits are ``cos / temperature`` (default 0.1).
      normalize: L2-normalize the views first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; views sharded along N; the other points come from every device. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the (global) points.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> views = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
      ...                    [[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]],
      ...                    [[1.0, 0.2], [0.1, 1.0], [0.8, 1.0]]])
      >>> print(f"{float(losses.multiview_info_nce(views)):.4f}")
      0.2559

    Paper: "A Principled Framework for Multi-View Contrastive Learning", Koromilas et al., 2025.
    """
    _check_views(views)
    x = _common.prepare(views, normalize)
    num_views, local = x.shape[0], x.shape[1]
    keys = _common.gather_rows(x, axis_name, axis=1)  # [V, N, D]
    logits = jnp.einsum("lid,mjd->ilmj", x, keys) / temperature  # [n, V, V, N]
    point = _common.row_offset(local, axis_name) + jnp.arange(local)
    same_point = (jnp.arange(keys.shape[1]) == point[:, None])[:, None, None, :]
    same_view = jnp.eye(num_views, dtype=bool)[None, :, :, None]
    flat = (local, -1)
    log_denominator = _common.masked_logsumexp(
        logits.reshape(flat), ~(same_point & same_view).reshape(flat))
    positive_mask = ~jnp.eye(num_views, dtype=bool)[None]
    log_numerator = _common.masked_logsumexp(
        _same_point_logits(x, temperature).reshape(flat),
        jnp.broadcast_to(positive_mask, (local, num_views, num_views)).reshape(flat))
    return _common.global_mean(jnp.mean(log_denominator - log_numerator), axis_name)


def mv_dhel(views: jax.Array, *, temperature: float = 0.1, normalize: bool = True,
            axis_name: str | None = None) -> jax.Array:
    """MV-DHEL: multi-view decoupled hyperspherical energy loss.

    ``L = mean_i [ -log sum_{l < l'} e^{s(u_i^l, u_i^l')} + sum_l log sum_{j != i} e^{s(u_i^l, u_j^l)} ]``

    Alignment couples all V(V-1)/2 view pairs of point i; uniformity is decoupled from it and runs
    per view, over the other points in the same view only (as in the authors' code). With N = 1
    there are no other points and the uniformity term is omitted (alignment only).

    Args:
      views: [V, N, D] V >= 2 views of N points.
      temperature: logits are ``cos / temperature`` (default 0.1).
      normalize: L2-normalize the views first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; views sharded along N; other points from every device. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the (global) points.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> views = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
      ...                    [[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]],
      ...                    [[1.0, 0.2], [0.1, 1.0], [0.8, 1.0]]])
      >>> print(f"{float(losses.mv_dhel(views)):.4f}")
      13.0363

    Paper: "A Principled Framework for Multi-View Contrastive Learning", Koromilas et al., 2025.
    """
    _check_views(views)
    x = _common.prepare(views, normalize)
    num_views, local = x.shape[0], x.shape[1]
    upper = jnp.triu(jnp.ones((num_views, num_views), dtype=bool), k=1)[None]
    alignment = _common.masked_logsumexp(
        _same_point_logits(x, temperature).reshape(local, -1),
        jnp.broadcast_to(upper, (local, num_views, num_views)).reshape(local, -1))
    keys = _common.gather_rows(x, axis_name, axis=1)
    per_point = -alignment
    if keys.shape[1] > 1:
        logits = jnp.einsum("lid,ljd->lij", x, keys) / temperature  # [V, n, N]
        point = _common.row_offset(local, axis_name) + jnp.arange(local)
        others = jnp.arange(keys.shape[1]) != point[:, None]
        per_point = per_point + jnp.sum(_common.masked_logsumexp(logits, others[None]), axis=0)
    return _common.global_mean(jnp.mean(per_point), axis_name)
