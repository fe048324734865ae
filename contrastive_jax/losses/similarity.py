"""One definition, two forms: the statistics every similarity loss is built from.

A similarity loss over M queries and N keys (on each device) needs the logits ``S = Q K^T`` only
through a few per-row (and per-column) statistics: the log-sum-exp of each row over the kept keys,
the positive logit(s) of each row, and, for symmetric losses, each column's log-sum-exp. A loss
*describes* its statistics once, by one call of ``softmax_statistics`` (or ``sigmoid_row_sums``):
which queries and keys, which key is the query itself, which is its target, which of the two are
left out of the denominator, or which keys share its label. It then combines the statistics,
e.g. ``loss_i = row_lse_i - positive_sum_i``. The same call gives

* ``block_size=None``: the dense form; ``S`` is materialized ([M, n N] with n devices; keys
  all-gathered across ``axis_name``) and JAX differentiates it;
* ``block_size=k``: the exact memory-efficient form of ``blockwise.py``: keys streamed in blocks
  of k with an online log-sum-exp, a custom VJP that recomputes the tiles, and across devices a
  ring of ``ppermute`` steps (``cross_device="ring"``) or one all-gather (``"all_gather"``).

So a loss written on these statistics gets ``block_size`` and ``cross_device`` by construction.
Temperatures and logit scales are folded into the queries (``Q = X / t``) by the caller; logits and
log-sum-exps are float32 (wider inputs stay wider). Global key index of key j on device d:
``d * N + j``, the order of ``gather_rows``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, blockwise
from contrastive_jax.losses.blockwise import SoftmaxStatistics

__all__ = ["SoftmaxStatistics", "sigmoid_row_sums", "softmax_statistics", "two_view_statistics"]


def _check_cross_device(cross_device):
    if cross_device not in ("ring", "all_gather"):
        raise ValueError(f"cross_device must be 'ring' or 'all_gather', got {cross_device!r}.")


def _ints(values, size, fill):
    if values is None:
        return jnp.full((size,), fill, jnp.int32)
    return jnp.broadcast_to(jnp.asarray(values, jnp.int32), (size,))


def _dense_softmax_statistics(queries, keys, self_index, target, exclude_self, exclude_target,
                              query_labels, key_labels, columns, axis_name):
    """The dense form of ``softmax_statistics``: one [M, n N] logits matrix, autodiff."""
    m, n = queries.shape[0], keys.shape[0]
    all_keys = _common.gather_rows(keys, axis_name)
    logits = queries @ all_keys.T
    col = jnp.arange(all_keys.shape[0])
    self_col, target_col = _ints(self_index, m, -1)[:, None], _ints(target, m, -1)[:, None]
    keep = jnp.ones(logits.shape, bool)
    if exclude_self:
        keep &= col != self_col
    if exclude_target:
        keep &= col != target_col
    row_lse = _common.masked_logsumexp(logits, keep)
    if query_labels is not None:
        labels = _common.gather_rows(_ints(key_labels, n, 0), axis_name)
        positive = (labels[None, :] == _ints(query_labels, m, 0)[:, None]) & (col != self_col)
    else:  # the target column, if any (-1 matches no key)
        positive = col == target_col
    # The same float32 logits as inside row_lse: a lone candidate gives row_lse - positive = 0.
    positive_sum = _common.masked_select_sum(logits, positive)
    count = jnp.sum(positive, axis=1).astype(logits.dtype)
    column_lse = jnp.zeros((n,), logits.dtype)
    if columns:  # every device's queries against this device's keys
        column_lse = jax.nn.logsumexp(_common.gather_rows(queries, axis_name) @ keys.T, axis=0)
    return SoftmaxStatistics(row_lse, positive_sum, count, column_lse)


def softmax_statistics(queries: jax.Array, keys: jax.Array, *, block_size: int | None = None,
                       self_index: jax.Array | None = None, target: jax.Array | None = None,
                       exclude_self: bool = False, exclude_target: bool = False,
                       query_labels: jax.Array | None = None,
                       key_labels: jax.Array | None = None, columns: bool = False,
                       axis_name: str | None = None,
                       cross_device: str = "ring") -> SoftmaxStatistics:
    """Row log-sum-exp, positives and column log-sum-exp of ``S = queries @ keys^T``.

    ``row_lse_i = log sum_{j kept} exp(S_ij)`` over the keys of every device; key j is left out
    for query i if it is the query itself (``exclude_self``: ``j == self_index[i]``) or its target
    (``exclude_target``: ``j == target[i]``). ``positive_sum_i = S_i,target[i]`` (count 1) when
    ``target`` is given, else with labels ``sum_{j != self_index[i], key_labels[j] ==
    query_labels[i]} S_ij`` and its count. With ``columns``, ``column_lse_j = log sum_i
    exp(S_ij)`` over the queries of every device, for this device's keys (CLIP's second
    direction). Key indices are global: key j of device d is ``d * N + j``.

    Args:
      queries: [M, D] float, already scaled (e.g. ``x / temperature``) and normalized.
      keys: [N, D] float, this device's keys.
      block_size: None (default) materializes the [M, n N] logits; an int streams the keys in
        blocks of that many (exact, O((M + N) D + M block_size) memory, custom VJP).
      self_index: [M] int, global index of each query among the keys; -1 or None: none.
      target: [M] int, global index of each query's single positive key; None: no target.
      exclude_self: leave ``self_index`` out of the row log-sum-exp (default False).
      exclude_target: leave ``target`` out of the row log-sum-exp (default False; needs target).
      query_labels: [M] int labels: the positives are the other same-label keys (not with target).
      key_labels: [N] int labels of this device's keys (with query_labels).
      columns: also compute ``column_lse`` (default False: it is zeros).
      axis_name: mesh axis inside ``jax.shard_map`` whose devices' keys all count; None: local.
      cross_device: with block_size and axis_name, ``"ring"`` (default: keys pass around a ring
        of ``ppermute`` steps) or ``"all_gather"``.

    Returns:
      ``SoftmaxStatistics(row_lse [M], positive_sum [M], positive_count [M], column_lse [N])``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> stats = losses.softmax_statistics(q / 0.5, q, target=jnp.array([0, 1]))
      >>> print(jnp.round(stats.row_lse - stats.positive_sum, 4))
      [0.1269 0.1269]
      >>> blocked = losses.softmax_statistics(q / 0.5, q, target=jnp.array([0, 1]), block_size=1)
      >>> print(jnp.round(blocked.row_lse - blocked.positive_sum, 4))
      [0.1269 0.1269]
    """
    _check_cross_device(cross_device)
    if (target is None and exclude_target) or (target is not None and query_labels is not None):
        raise ValueError("give target (single positive) or labels (several), not both; "
                         "exclude_target needs target.")
    if (query_labels is None) != (key_labels is None):
        raise ValueError("give query_labels and key_labels together, or neither.")
    if block_size is not None:
        return blockwise.softmax_statistics(
            queries, keys, block_size=block_size, self_index=self_index, target=target,
            exclude_self=exclude_self, exclude_target=exclude_target, query_labels=query_labels,
            key_labels=key_labels, columns=columns, axis_name=axis_name,
            cross_device=cross_device)
    return _dense_softmax_statistics(queries, keys, self_index, target, exclude_self,
                                     exclude_target, query_labels, key_labels, columns, axis_name)


def sigmoid_row_sums(queries: jax.Array, keys: jax.Array, bias: jax.Array | float, *,
                     target: jax.Array, block_size: int | None = None,
                     axis_name: str | None = None, cross_device: str = "ring") -> jax.Array:
    """``sum_j softplus(-y_ij (S_ij + bias))`` per query, ``y_ij = +1`` iff ``j == target[i]``.

    ``S = queries @ keys^T`` over the keys of every device (global key indices as in
    ``softmax_statistics``); ``softplus(-z) = -log sigmoid(z)``, so this is each query's SigLIP
    binary cross-entropy summed over every key.

    Args:
      queries: [M, D] float, already scaled (e.g. ``logit_scale * x``).
      keys: [N, D] float, this device's keys.
      bias: scalar added to every logit.
      target: [M] int, global index of each query's positive key (-1: none).
      block_size: None (default): dense [M, n N] logits; an int: blockwise (exact, custom VJP).
      axis_name: mesh axis inside ``jax.shard_map`` whose devices' keys all count; None: local.
      cross_device: with block_size and axis_name, ``"ring"`` (default) or ``"all_gather"``.

    Returns:
      [M] float32 per-query sums.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> rows = losses.sigmoid_row_sums(10.0 * x, x, -5.0, target=jnp.array([0, 1]))
      >>> print(jnp.round(rows, 4))
      [0.0134 0.0134]
    """
    _check_cross_device(cross_device)
    if block_size is not None:
        return blockwise.sigmoid_row_sums(queries, keys, bias, block_size=block_size,
                                          target=target, axis_name=axis_name,
                                          cross_device=cross_device)
    all_keys = _common.gather_rows(keys, axis_name)
    z = queries @ all_keys.T + jnp.asarray(bias, queries.dtype)
    is_target = jnp.arange(all_keys.shape[0]) == _ints(target, queries.shape[0], -1)[:, None]
    return jnp.sum(jax.nn.softplus(jnp.where(is_target, -z, z)), axis=1)


def two_view_statistics(z1: jax.Array, z2: jax.Array, *, temperature: float, normalize: bool,
                        axis_name: str | None = None, block_size: int | None = None,
                        cross_device: str = "ring",
                        exclude_positive: bool = False) -> tuple[jax.Array, jax.Array]:
    """``(row log-sum-exp, positive logit)`` of the 2b local anchors ``[z1; z2]`` (SimCLR form).

    Every anchor is contrasted with every view of the global batch except itself and, with
    ``exclude_positive``, its other view (DCL); its positive is its other view. The NT-Xent loss
    is ``mean(row_lse - positive)``.

    Args:
      z1: [b, D] first views (this device's shard of a global batch of B examples).
      z2: [b, D] second views of the same examples.
      temperature: logits are ``cos / temperature`` (or dot products without normalize).
      normalize: L2-normalize the views first.
      axis_name: mesh axis inside ``jax.shard_map``; the views of every device are negatives.
      block_size: None (default): dense logits; an int: the blockwise form.
      cross_device: with block_size and axis_name, ``"ring"`` (default) or ``"all_gather"``.
      exclude_positive: also leave the positive out of the denominator (default False).

    Returns:
      ``(row_lse, positive)``, each [2b]: rows ``0..b-1`` are the z1 anchors, then the z2 ones.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> z2 = jnp.array([[1.0, 0.2], [0.1, 1.0]])
      >>> lse, pos = losses.two_view_statistics(z1, z2, temperature=0.5, normalize=True)
      >>> print(f"{float(jnp.mean(lse - pos)):.4f}")
      0.3220
    """
    a1, a2 = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
    anchors, local = jnp.concatenate([a1, a2], axis=0), a1.shape[0]
    # This device's keys are its anchors: global key index = offset + row of [z1; z2].
    rows = _common.row_offset(2 * local, axis_name) + jnp.arange(2 * local)
    other_view = rows + jnp.where(jnp.arange(2 * local) < local, local, -local)
    stats = softmax_statistics(
        anchors / temperature, anchors, block_size=block_size, self_index=rows,
        target=other_view, exclude_self=True, exclude_target=exclude_positive,
        axis_name=axis_name, cross_device=cross_device)
    return stats.row_lse, stats.positive_sum
