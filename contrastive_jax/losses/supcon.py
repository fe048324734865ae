"""Supervised contrastive loss (SupCon), "all" contrast mode."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, blockwise


def _blockwise_supcon(features, labels, temperature, base_temperature, normalize, axis_name,
                      block_size, cross_device):
    local, views = features.shape[0], features.shape[1]
    anchors = _common.prepare(features, normalize).reshape(local * views, -1)
    if _common.global_count(anchors.shape[0], axis_name) == 1:
        return jnp.zeros((), anchors.dtype)
    example = _common.row_offset(local, axis_name) + jnp.arange(local)
    label = jnp.repeat(example if labels is None else labels, views)
    stats = blockwise.softmax_statistics(
        anchors / temperature, anchors, block_size=block_size, query_labels=label,
        key_labels=label, exclude_self=True, axis_name=axis_name, cross_device=cross_device,
        self_index=_common.row_offset(local * views, axis_name) + jnp.arange(local * views))
    count = jax.lax.stop_gradient(stats.positive_count)
    mean_log_prob = (stats.positive_sum - count * stats.row_lse) / jnp.maximum(count, 1)
    per_anchor = -(temperature / base_temperature) * mean_log_prob
    return _common.global_mean(jnp.mean(per_anchor), axis_name)


def supcon(features, labels=None, *, temperature=0.07, base_temperature=0.07, normalize=True,
           axis_name=None, block_size=None, cross_device="ring"):
    """Supervised contrastive loss: every view is an anchor, same-label views are its positives.

    ``L = mean_a  -(t / t_base) * mean_{p in P(a)} [ s(a, p) / t - log sum_{k != a} exp(s(a, k) / t) ]``
    over all N*V anchor views ``a``; ``P(a)`` = the other views whose label equals a's label.

    Shapes: features: [N, V, D] (V views of N examples); labels: [N] ints or None. With
    ``labels=None`` each example is its own class, which is the SimCLR loss: for V = 2 it equals
    ``nt_xent`` at the same temperature when ``base_temperature == temperature``.

    An anchor without positives (V = 1 and a unique label) contributes 0 but still counts in the
    mean, as in the reference implementation; a single view of a single example gives 0.
    With ``axis_name`` the views (and labels) of every device are contrasted.

    ``block_size``: the exact memory-efficient form (``losses.blockwise``): O(N V D + N V
    block_size) memory instead of O((N V)^2); the positives' sums and counts are streamed too.
    With ``axis_name``: a ring of ``ppermute`` steps or an all-gather (``cross_device``).

    Paper: "Supervised Contrastive Learning", Khosla et al., 2020 (NeurIPS).
    """
    if block_size is not None:
        return _blockwise_supcon(features, labels, temperature, base_temperature, normalize,
                                 axis_name, block_size, cross_device)
    local, views = features.shape[0], features.shape[1]
    x = _common.prepare(features, normalize)
    anchors = x.reshape(local * views, -1)
    keys = _common.gather_rows(x, axis_name).reshape(-1, x.shape[-1])
    if keys.shape[0] == 1:
        return jnp.zeros((), anchors.dtype)
    total = keys.shape[0] // views
    example = _common.row_offset(local, axis_name) + jnp.arange(local)
    if labels is None:
        anchor_label, key_label = example, jnp.arange(total)
    else:
        anchor_label, key_label = labels, _common.gather_rows(labels, axis_name)
    anchor_label = jnp.repeat(anchor_label, views)
    key_label = jnp.repeat(key_label, views)
    anchor_row = jnp.repeat(example, views) * views + jnp.tile(jnp.arange(views), local)
    self_mask = jnp.arange(keys.shape[0]) == anchor_row[:, None]
    positive_mask = (anchor_label[:, None] == key_label[None, :]) & ~self_mask

    logits = (anchors @ keys.T) / temperature
    log_prob = logits - _common.masked_logsumexp(logits, ~self_mask)[:, None]
    num_positives = jnp.sum(positive_mask, axis=1)
    mean_log_prob = (_common.masked_select_sum(log_prob, positive_mask)
                     / jnp.maximum(num_positives, 1))
    per_anchor = -(temperature / base_temperature) * mean_log_prob
    return _common.global_mean(jnp.mean(per_anchor), axis_name)
