"""Helpers shared by the losses: float32 upcasting, L2 normalization, masked log-sum-exp and the
cross-device pieces (gather rows from every device, local row offset, global reductions).

Every cross-device helper is the identity when ``axis_name`` is None, so a loss written with them
runs unchanged on one device or inside ``jax.shard_map`` over a mesh axis.
"""

import jax
import jax.numpy as jnp


def upcast(x):
    """``x`` as float32, or wider if it already is (float64 stays float64, bfloat16 goes up)."""
    x = jnp.asarray(x)
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def l2_normalize(x, eps=1e-12):
    """``x / max(||x||, eps)`` along the last axis, computed in float32 or wider."""
    x = upcast(x)
    sq_norm = jnp.sum(x * x, axis=-1, keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(sq_norm, eps * eps))


def prepare(x, normalize):
    """Upcast and, if ``normalize``, project onto the unit sphere."""
    return l2_normalize(x) if normalize else upcast(x)


def masked_logsumexp(logits, mask, axis=-1):
    """``log sum_{mask} exp(logits)`` along ``axis``; each slice must keep at least one entry.

    Masked entries become -inf, which gives them exactly zero weight and zero gradient.
    """
    return jax.nn.logsumexp(jnp.where(mask, logits, -jnp.inf), axis=axis)


def gather_rows(x, axis_name, axis=0):
    """Concatenation along ``axis`` of ``x`` from every device on ``axis_name``, in device order.

    ``all_gather``'s transpose is a reduce-scatter, so gradients reach each device's own rows.
    """
    if axis_name is None:
        return x
    return jax.lax.all_gather(x, axis_name, axis=axis, tiled=True)


def row_offset(num_local, axis_name):
    """Global index of this device's first row when every device holds ``num_local`` rows."""
    if axis_name is None:
        return 0
    return jax.lax.axis_index(axis_name) * num_local


def global_count(num_local, axis_name):
    """Number of rows in the global batch when every device holds ``num_local`` rows."""
    return num_local if axis_name is None else num_local * jax.lax.axis_size(axis_name)


def batch_centered(x, axis_name):
    """``x - mean`` with the mean over the rows of the global batch; x: [b, D]."""
    x = upcast(x)
    return x - global_mean(jnp.mean(x, axis=0), axis_name)


def global_mean(x, axis_name):
    """Mean over devices of a per-device value (equal shard sizes make it the global mean)."""
    return x if axis_name is None else jax.lax.pmean(x, axis_name)


def global_sum(x, axis_name):
    """Sum over devices of a per-device value."""
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


def two_view_logits(z1, z2, *, temperature, normalize, axis_name):
    """SimCLR-style logits of the local anchors ``[z1; z2]`` against every view of the batch.

    z1, z2: [b, D] local shards of a global batch of B examples.
    Returns ``(logits, self_mask, positive_mask)``, each [2b, 2B]. Column ``c < B`` holds z1 of
    global example ``c`` and column ``B + c`` its z2; row ``r < b`` is local z1 row ``r``.
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
