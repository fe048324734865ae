"""InfoNCE (query/key form, CPC/MoCo) and NT-Xent (SimCLR's two-view form)."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, blockwise


def _extra_negative_logits(query, extra_negatives, normalize):
    """Logits of each query against shared ``[K, D]`` or per-query ``[B, K, D]`` negatives."""
    extra = _common.prepare(extra_negatives, normalize)
    if extra.ndim == 2:
        return query @ extra.T
    if extra.ndim == 3 and extra.shape[0] == query.shape[0]:
        return jnp.einsum("bd,bkd->bk", query, extra)
    raise ValueError(
        f"extra_negatives must be [K, D] or [B, K, D] with B={query.shape[0]}, "
        f"got shape {extra.shape}.")


def _blockwise_info_nce(query, key, temperature, normalize, extra_negatives, axis_name,
                        block_size, cross_device):
    q, k = _common.prepare(query, normalize), _common.prepare(key, normalize)
    queries = q / temperature
    own = _common.row_offset(q.shape[0], axis_name) + jnp.arange(q.shape[0])
    stats = blockwise.softmax_statistics(
        queries, k, block_size=block_size, target=own, axis_name=axis_name,
        cross_device=cross_device)
    lse = stats.row_lse
    if extra_negatives is not None and jnp.ndim(extra_negatives) == 2:  # e.g. a long queue
        extra = _common.prepare(extra_negatives, normalize)
        lse = jnp.logaddexp(lse, blockwise.softmax_statistics(
            queries, extra, block_size=block_size).row_lse)
    elif extra_negatives is not None:  # [B, K, D]: the logits [B, K] are smaller than the input
        extra_logits = _extra_negative_logits(q, extra_negatives, normalize) / temperature
        lse = jnp.logaddexp(lse, jax.nn.logsumexp(extra_logits, axis=1))
    per_query = lse - stats.positive_sum
    return _common.global_mean(jnp.mean(per_query), axis_name)


def info_nce(query, key, *, temperature=0.1, normalize=True, extra_negatives=None,
             axis_name=None, block_size=None, cross_device="ring"):
    """InfoNCE: query ``i``'s positive is key ``i``; other keys and extra negatives are negatives.

    ``L = mean_i [ -q_i.k_i / t + log( sum_j exp(q_i.k_j / t) + sum_n exp(q_i.n / t) ) ]``

    Shapes: query, key: [B, D]; extra_negatives: None, [K, D] shared by every query (e.g. a MoCo
    queue) or [B, K, D] per query (e.g. ``mochi_negatives``). Returns a scalar.

    With ``normalize`` all inputs are L2-normalized (cosine similarities). With B = 1 and no extra
    negatives the only candidate is the positive and the loss is exactly 0. With ``axis_name`` the
    keys of every device are negatives (all-gather); per-query extra negatives belong to the local
    queries, shared ones are used as given on each device (pass the same queue everywhere).

    ``block_size``: the exact memory-efficient form (``losses.blockwise``): keys and shared extra
    negatives are streamed in blocks, O(B D + B block_size) memory instead of O(B (B + K)); with
    ``axis_name`` the keys travel around a ring (``cross_device="ring"``) or are all-gathered
    (``"all_gather"``).

    Paper: "Representation Learning with Contrastive Predictive Coding", van den Oord et al., 2018;
    queue form: "Momentum Contrast for Unsupervised Visual Representation Learning",
    He et al., 2020.
    """
    if block_size is not None:
        return _blockwise_info_nce(query, key, temperature, normalize, extra_negatives,
                                   axis_name, block_size, cross_device)
    q = _common.prepare(query, normalize)
    k = _common.gather_rows(_common.prepare(key, normalize), axis_name)
    logits = q @ k.T
    positive_col = _common.row_offset(q.shape[0], axis_name) + jnp.arange(q.shape[0])
    positive = jnp.take_along_axis(logits, positive_col[:, None], axis=1)[:, 0]
    if extra_negatives is not None:
        logits = jnp.concatenate(
            [logits, _extra_negative_logits(q, extra_negatives, normalize)], axis=1)
    per_query = jax.nn.logsumexp(logits / temperature, axis=1) - positive / temperature
    return _common.global_mean(jnp.mean(per_query), axis_name)


def two_view_statistics(z1, z2, *, temperature, normalize, axis_name, block_size, cross_device,
                        exclude_positive):
    """Blockwise ``(row log-sum-exp, positive logit)`` of the 2b local anchors ``[z1; z2]``.

    The denominator runs over every view of the (global) batch except the anchor itself and,
    with ``exclude_positive``, its other view (DCL). Shapes: z1, z2: [b, D]; returns two [2b].
    """
    a1, a2 = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
    anchors, local = jnp.concatenate([a1, a2], axis=0), a1.shape[0]
    # This device's keys are its anchors: global key index = offset + row of [z1; z2].
    rows = _common.row_offset(2 * local, axis_name) + jnp.arange(2 * local)
    other_view = rows + jnp.where(jnp.arange(2 * local) < local, local, -local)
    stats = blockwise.softmax_statistics(
        anchors / temperature, anchors, block_size=block_size, self_index=rows,
        target=other_view, exclude_self=True, exclude_target=exclude_positive,
        axis_name=axis_name, cross_device=cross_device)
    return stats.row_lse, stats.positive_sum


def nt_xent(z1, z2, *, temperature=0.5, normalize=True, axis_name=None, block_size=None,
            cross_device="ring"):
    """NT-Xent (SimCLR): each of the 2B views is an anchor; its other view is the positive.

    ``L = mean_a [ -s(a, pos(a)) / t + log sum_{k != a} exp(s(a, k) / t) ]`` over the 2B anchors
    ``a`` in ``[z1; z2]``; the 2B - 2 views of other examples are the negatives, self is excluded.

    Shapes: z1, z2: [B, D] (two views of the same B examples). Returns a scalar.
    With B = 1 the other view is the only candidate and the loss is exactly 0.
    With ``axis_name`` the views of every device are negatives. ``block_size``: the exact
    memory-efficient form, as in ``info_nce`` (O(B D + B block_size) memory).

    Paper: "A Simple Framework for Contrastive Learning of Visual Representations",
    Chen et al., 2020.
    """
    if block_size is not None:
        lse, positive = two_view_statistics(
            z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name,
            block_size=block_size, cross_device=cross_device, exclude_positive=False)
        return _common.global_mean(jnp.mean(lse - positive), axis_name)
    logits, self_mask, positive_mask = _common.two_view_logits(
        z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name)
    per_anchor = (_common.masked_logsumexp(logits, ~self_mask)
                  - _common.masked_select_sum(logits, positive_mask))
    return _common.global_mean(jnp.mean(per_anchor), axis_name)
