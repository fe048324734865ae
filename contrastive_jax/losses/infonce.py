"""InfoNCE (query/key form, CPC/MoCo) and NT-Xent (SimCLR's two-view form)."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


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


def info_nce(query, key, *, temperature=0.1, normalize=True, extra_negatives=None,
             axis_name=None):
    """InfoNCE: query ``i``'s positive is key ``i``; other keys and extra negatives are negatives.

    ``L = mean_i [ -q_i.k_i / t + log( sum_j exp(q_i.k_j / t) + sum_n exp(q_i.n / t) ) ]``

    Shapes: query, key: [B, D]; extra_negatives: None, [K, D] shared by every query (e.g. a MoCo
    queue) or [B, K, D] per query (e.g. ``mochi_negatives``). Returns a scalar.

    With ``normalize`` all inputs are L2-normalized (cosine similarities). With B = 1 and no extra
    negatives the only candidate is the positive and the loss is exactly 0. With ``axis_name`` the
    keys of every device are negatives (all-gather); per-query extra negatives belong to the local
    queries, shared ones are used as given on each device (pass the same queue everywhere).

    Paper: "Representation Learning with Contrastive Predictive Coding", van den Oord et al., 2018;
    queue form: "Momentum Contrast for Unsupervised Visual Representation Learning",
    He et al., 2020.
    """
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


def nt_xent(z1, z2, *, temperature=0.5, normalize=True, axis_name=None):
    """NT-Xent (SimCLR): each of the 2B views is an anchor; its other view is the positive.

    ``L = mean_a [ -s(a, pos(a)) / t + log sum_{k != a} exp(s(a, k) / t) ]`` over the 2B anchors
    ``a`` in ``[z1; z2]``; the 2B - 2 views of other examples are the negatives, self is excluded.

    Shapes: z1, z2: [B, D] (two views of the same B examples). Returns a scalar.
    With B = 1 the other view is the only candidate and the loss is exactly 0.
    With ``axis_name`` the views of every device are negatives.

    Paper: "A Simple Framework for Contrastive Learning of Visual Representations",
    Chen et al., 2020.
    """
    logits, self_mask, positive_mask = _common.two_view_logits(
        z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name)
    per_anchor = (_common.masked_logsumexp(logits, ~self_mask)
                  - _common.masked_select_sum(logits, positive_mask))
    return _common.global_mean(jnp.mean(per_anchor), axis_name)
