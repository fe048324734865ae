"""InfoNCE (query/key form, CPC/MoCo) and NT-Xent (SimCLR's two-view form)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity


def _extra_negative_logits(query, extra_negatives, normalize):
    """Logits [B, K] of each query against its own negatives ``[B, K, D]``."""
    extra = _common.prepare(extra_negatives, normalize)
    if extra.ndim == 3 and extra.shape[0] == query.shape[0]:
        return jnp.einsum("bd,bkd->bk", query, extra)
    raise ValueError(
        f"extra_negatives must be [K, D] or [B, K, D] with B={query.shape[0]}, "
        f"got shape {extra.shape}.")


def info_nce(query: jax.Array, key: jax.Array, *, temperature: float = 0.1,
             normalize: bool = True, extra_negatives: jax.Array | None = None,
             axis_name: str | None = None, block_size: int | None = None,
             cross_device: str = "ring") -> jax.Array:
    """InfoNCE: query ``i``'s positive is key ``i``; other keys and extra negatives are negatives.

    ``L = mean_i [ -q_i.k_i / t + log( sum_j exp(q_i.k_j / t) + sum_n exp(q_i.n / t) ) ]``

    With ``normalize`` all inputs are L2-normalized (cosine similarities). With B = 1 and no extra
    negatives the only candidate is the positive and the loss is exactly 0. With ``axis_name`` the
    keys of every device are negatives; per-query extra negatives belong to the local queries,
    shared ones are used as given on each device (pass the same queue everywhere).

    Args:
      query: [B, D] queries (this device's shard under ``axis_name``).
      key: [B, D] keys; key ``i`` is the positive of query ``i``.
      temperature: logits are ``similarity / temperature`` (default 0.1).
      normalize: L2-normalize every input first (default True: cosine similarities).
      extra_negatives: None (default: in-batch negatives only), [K, D] shared by every query
        (e.g. a MoCo queue) or [B, K, D] per query (e.g. ``mochi_negatives``).
      axis_name: mesh axis inside ``jax.shard_map``; None (default): one device.
      block_size: None (default): dense [B, B] logits; an int: the exact memory-efficient form
        (``softmax_statistics``): keys and shared extra negatives streamed in blocks, O(B D + B
        block_size) memory instead of O(B (B + K)).
      cross_device: with ``block_size`` and ``axis_name``, keys travel around a ring
        (``"ring"``, default) or are all-gathered (``"all_gather"``).

    Returns:
      Scalar float32 loss, the mean over the (global) queries.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> query = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> key = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.info_nce(query, key, temperature=0.5)):.4f}")
      0.6752
      >>> print(f"{float(losses.info_nce(query, key, temperature=0.5, block_size=2)):.4f}")
      0.6752

    Paper: "Representation Learning with Contrastive Predictive Coding", van den Oord et al., 2018;
    queue form: "Momentum Contrast for Unsupervised Visual Representation Learning",
    He et al., 2020.
    """
    q, k = _common.prepare(query, normalize), _common.prepare(key, normalize)
    queries = q / temperature
    own = _common.row_offset(q.shape[0], axis_name) + jnp.arange(q.shape[0])
    stats = similarity.softmax_statistics(queries, k, target=own, block_size=block_size,
                                          axis_name=axis_name, cross_device=cross_device)
    lse = stats.row_lse
    if extra_negatives is not None and jnp.ndim(extra_negatives) == 2:  # e.g. a long queue
        extra = _common.prepare(extra_negatives, normalize)
        lse = jnp.logaddexp(lse, similarity.softmax_statistics(
            queries, extra, block_size=block_size).row_lse)
    elif extra_negatives is not None:  # [B, K, D]: the logits [B, K] are smaller than the input
        lse = jnp.logaddexp(lse, jax.nn.logsumexp(
            _extra_negative_logits(queries, extra_negatives, normalize), axis=1))
    return _common.global_mean(jnp.mean(lse - stats.positive_sum), axis_name)


def nt_xent(z1: jax.Array, z2: jax.Array, *, temperature: float = 0.5, normalize: bool = True,
            axis_name: str | None = None, block_size: int | None = None,
            cross_device: str = "ring") -> jax.Array:
    """NT-Xent (SimCLR): each of the 2B views is an anchor; its other view is the positive.

    ``L = mean_a [ -s(a, pos(a)) / t + log sum_{k != a} exp(s(a, k) / t) ]`` over the 2B anchors
    ``a`` in ``[z1; z2]``; the 2B - 2 views of other examples are the negatives, self is excluded.
    With B = 1 the other view is the only candidate and the loss is exactly 0.

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      temperature: logits are ``cos / temperature`` (default 0.5).
      normalize: L2-normalize the views first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; the views of every device are negatives.
        None (default): one device.
      block_size: None (default): dense [2B, 2B] logits; an int: the exact memory-efficient
        form (O(B D + B block_size) memory), as in ``info_nce``.
      cross_device: with ``block_size`` and ``axis_name``: ``"ring"`` (default) or
        ``"all_gather"``.

    Returns:
      Scalar float32 loss, the mean over the 2B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.nt_xent(z1, z2)):.4f}")
      1.0826
      >>> print(f"{float(losses.nt_xent(z1, z2, block_size=4)):.4f}")
      1.0826

    Paper: "A Simple Framework for Contrastive Learning of Visual Representations",
    Chen et al., 2020.
    """
    lse, positive = similarity.two_view_statistics(
        z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name,
        block_size=block_size, cross_device=cross_device)
    return _common.global_mean(jnp.mean(lse - positive), axis_name)


def queue_info_nce(query: jax.Array, key: jax.Array, queue: jax.Array,
                   extra: jax.Array | None = None, *, temperature: float = 0.2) -> jax.Array:
    """MoCo's loss: each query's candidates are its own key and the negatives only.

    ``L = mean_i -log exp(q_i.k_i / t) / (exp(q_i.k_i / t) + sum_n exp(q_i.n / t))``, n over the
    queue and, if given, the query's own extra negatives ``extra[i]`` (MoCHi). Other keys of the
    batch are *not* negatives (unlike ``info_nce`` on a batch): each query is scored as a batch of
    one. Every input is L2-normalized (cosine similarities).

    Args:
      query: [B, D] queries.
      key: [B, D] keys (the momentum encoder's); key ``i`` is query ``i``'s positive.
      queue: [K, D] negatives shared by every query.
      extra: None (default) or [B, S, D] negatives of each query (e.g. ``mochi_negatives``).
      temperature: logits are ``cos / temperature`` (default 0.2, MoCo v2).

    Returns:
      Scalar float32 loss, the mean over the B queries.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> query = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> key = jnp.array([[0.9, 0.1], [0.2, 0.8]])
      >>> queue = jnp.array([[-1.0, 0.0], [0.0, -1.0], [1.0, -1.0]])
      >>> print(f"{float(losses.queue_info_nce(query, key, queue)):.4f}")
      0.1138

    Paper: "Momentum Contrast for Unsupervised Visual Representation Learning", He et al., 2020.
    """

    def one(q, k, own_extra):
        negatives = queue if own_extra is None else jnp.concatenate([queue, own_extra])
        return info_nce(q[None], k[None], temperature=temperature, extra_negatives=negatives)

    return jnp.mean(jax.vmap(one)(query, key, extra))
