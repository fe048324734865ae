"""Helpers shared by the losses: float32 upcasting, L2 normalization, masked log-sum-exp and the
cross-device pieces (gather rows from every device, local row offset, global reductions).

Every cross-device helper is the identity when ``axis_name`` is None, so a loss written with them
runs unchanged on one device or inside ``jax.shard_map`` over a mesh axis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def upcast(x):
    """``x`` as float32, or wider if it already is (float64 stays float64, bfloat16 goes up)."""
    x = jnp.asarray(x)
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def l2_normalize(x: jax.Array, eps: float = 1e-12) -> jax.Array:
    """``x / max(||x||, eps)`` along the last axis, computed in float32 or wider.

    The zero vector stays zero with a finite gradient.

    Args:
      x: [..., D] array.
      eps: smallest norm divided by (default 1e-12).

    Returns:
      [..., D] float32 (or wider) unit vectors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> print(losses.l2_normalize(jnp.array([[3.0, 4.0], [0.0, 0.0]])))
      [[0.6 0.8]
       [0.  0. ]]
    """
    x = upcast(x)
    sq_norm = jnp.sum(x * x, axis=-1, keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(sq_norm, eps * eps))


def prepare(x, normalize):
    """Upcast and, if ``normalize``, project onto the unit sphere."""
    return l2_normalize(x) if normalize else upcast(x)


def masked_logsumexp(logits: jax.Array, mask: jax.Array, axis: int = -1) -> jax.Array:
    """``log sum_{mask} exp(logits)`` along ``axis``; each slice must keep at least one entry.

    Masked entries become -inf, which gives them exactly zero weight and zero gradient.

    Args:
      logits: [..., N] float array.
      mask: bool array broadcastable to ``logits``; True keeps an entry.
      axis: the reduced axis (default -1).

    Returns:
      ``logits`` with ``axis`` reduced.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> logits = jnp.array([[0.0, 1.0, 2.0]])
      >>> print(losses.masked_logsumexp(logits, jnp.array([[True, False, True]])))
      [2.126928]
    """
    return jax.nn.logsumexp(jnp.where(mask, logits, -jnp.inf), axis=axis)


def gather_rows(x: jax.Array, axis_name: str | None, axis: int = 0) -> jax.Array:
    """Concatenation along ``axis`` of ``x`` from every device on ``axis_name``, in device order.

    ``all_gather``'s transpose is a reduce-scatter, so gradients reach each device's own rows.
    The identity when ``axis_name`` is None, so a loss written with it runs unchanged on one
    device or inside ``jax.shard_map`` (or ``jax.vmap`` with an ``axis_name``).

    Args:
      x: [b, ...] this device's rows.
      axis_name: mesh axis name, or None (one device).
      axis: the concatenated axis (default 0).

    Returns:
      [n b, ...] with n devices on the axis: device d's rows at ``d * b ... d * b + b - 1``.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> shards = jnp.arange(6.0).reshape(3, 2, 1)  # 3 "devices" holding 2 rows each
      >>> gathered = jax.vmap(lambda x: losses.gather_rows(x, "d"), axis_name="d")(shards)
      >>> print(gathered[1].ravel())
      [0. 1. 2. 3. 4. 5.]
    """
    if axis_name is None:
        return x
    return jax.lax.all_gather(x, axis_name, axis=axis, tiled=True)


def row_offset(num_local: int, axis_name: str | None) -> jax.Array | int:
    """Global index of this device's first row when every device holds ``num_local`` rows.

    Args:
      num_local: rows per device.
      axis_name: mesh axis name, or None (one device: 0).

    Returns:
      ``axis_index * num_local`` (an int32 scalar), or 0.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> shards = jnp.arange(6.0).reshape(3, 2, 1)  # 3 "devices" holding 2 rows each
      >>> print(jax.vmap(lambda x: losses.row_offset(x.shape[0], "d"), axis_name="d")(shards))
      [0 2 4]
    """
    if axis_name is None:
        return 0
    return jax.lax.axis_index(axis_name) * num_local


def global_count(num_local: int, axis_name: str | None) -> int:
    """Number of rows in the global batch when every device holds ``num_local`` rows.

    Args:
      num_local: rows per device.
      axis_name: mesh axis name, or None (one device).

    Returns:
      ``num_local`` times the number of devices on ``axis_name`` (a static int).

    Examples:
      >>> from contrastive_jax import losses
      >>> print(losses.global_count(4, None))
      4
    """
    return num_local if axis_name is None else num_local * jax.lax.axis_size(axis_name)


def batch_centered(x, axis_name):
    """``x - mean`` with the mean over the rows of the global batch; x: [b, D]."""
    x = upcast(x)
    return x - global_mean(jnp.mean(x, axis=0), axis_name)


def global_mean(x: jax.Array, axis_name: str | None) -> jax.Array:
    """Mean over devices of a per-device value (equal shard sizes make it the global mean).

    Args:
      x: per-device value (any shape).
      axis_name: mesh axis name, or None (one device: ``x``).

    Returns:
      ``pmean(x)`` over ``axis_name``, same shape as ``x``.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> shards = jnp.arange(6.0).reshape(3, 2, 1)  # 3 "devices" holding 2 rows each
      >>> print(jax.vmap(lambda x: losses.global_mean(x.mean(), "d"), axis_name="d")(shards))
      [2.5 2.5 2.5]
    """
    return x if axis_name is None else jax.lax.pmean(x, axis_name)


def global_sum(x: jax.Array, axis_name: str | None) -> jax.Array:
    """Sum over devices of a per-device value.

    Args:
      x: per-device value (any shape).
      axis_name: mesh axis name, or None (one device: ``x``).

    Returns:
      ``psum(x)`` over ``axis_name``, same shape as ``x``.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> shards = jnp.arange(6.0).reshape(3, 2, 1)  # 3 "devices" holding 2 rows each
      >>> print(jax.vmap(lambda x: losses.global_sum(x.sum(), "d"), axis_name="d")(shards))
      [15. 15. 15.]
    """
    return x if axis_name is None else jax.lax.psum(x, axis_name)


def global_logsumexp(x, axis, axis_name):
    """``log sum exp(x)`` over ``axis`` of the array concatenated across devices along ``axis``.

    Keeps dims. Each slice must hold at least one finite entry across the devices.
    """
    shift = jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    if axis_name is not None:
        shift = jax.lax.pmax(shift, axis_name)
    total = global_sum(jnp.sum(jnp.exp(x - shift), axis=axis, keepdims=True), axis_name)
    return shift + jnp.log(total)


def two_view_logits(z1: jax.Array, z2: jax.Array, *, temperature: float, normalize: bool,
                    axis_name: str | None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """SimCLR-style logits of the local anchors ``[z1; z2]`` against every view of the batch.

    The dense [2b, 2B] matrix, for two-view losses that need more than a log-sum-exp and a
    positive (e.g. ``debiased_info_nce``); otherwise prefer ``two_view_statistics``, which also
    has a blockwise form. Column ``c < B`` holds z1 of global example ``c`` and column ``B + c``
    its z2; row ``r < b`` is local z1 row ``r``, row ``b + r`` local z2 row ``r``.

    Args:
      z1: [b, D] first views (this device's shard of a global batch of B examples).
      z2: [b, D] second views of the same examples.
      temperature: logits are ``similarity / temperature``.
      normalize: L2-normalize the views first.
      axis_name: mesh axis name whose devices' views are all columns, or None.

    Returns:
      ``(logits, self_mask, positive_mask)``, each [2b, 2B]; the masks mark each anchor's own
      column and its other view's column.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1, z2 = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])
      >>> logits, self_mask, positive_mask = losses.two_view_logits(
      ...     z1, z2, temperature=0.5, normalize=True, axis_name=None)
      >>> print(logits)
      [[2. 0.]
       [0. 2.]]
      >>> print(positive_mask)
      [[False  True]
       [ True False]]
    """
    a1, a2 = prepare(z1, normalize), prepare(z2, normalize)
    anchors = jnp.concatenate([a1, a2], axis=0)
    keys = jnp.concatenate([gather_rows(a1, axis_name), gather_rows(a2, axis_name)], axis=0)
    local, total = a1.shape[0], keys.shape[0] // 2
    rows = row_offset(local, axis_name) + jnp.arange(local)
    self_col = jnp.concatenate([rows, rows + total])
    positive_col = jnp.concatenate([rows + total, rows])
    cols = jnp.arange(2 * total)
    logits = (anchors @ keys.T) / temperature
    return logits, cols == self_col[:, None], cols == positive_col[:, None]


def masked_select_sum(x, mask, axis=-1):
    """Sum of the entries of ``x`` where ``mask`` is true (others count as zero)."""
    return jnp.sum(jnp.where(mask, x, 0.0), axis=axis)
