"""Dense-retrieval objectives: InfoNCE of queries against in-batch and mined hard negative
documents (DPR), and STAR's hard-negative term."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def dense_retrieval_info_nce(query: jax.Array, document: jax.Array,
                             negatives: jax.Array | None = None, *, temperature: float = 0.05,
                             negative_mask: jax.Array | None = None, symmetric: bool = True,
                             normalize: bool = True, axis_name: str | None = None) -> jax.Array:
    """InfoNCE of each query against every document of the batch plus a shared pool of extra
    negatives (DPR's in-batch negatives with mined hard negatives shared across the batch).

    ``L_q = mean_i -log exp(s_ii / t) / (sum_j exp(s_ij / t) + sum_m w_im exp(n_im / t))`` with
    ``s_ij = <q_i, d_j>`` and ``n_im = <q_i, h_m>`` (cosines when ``normalize``), ``w`` the
    ``negative_mask``; ``symmetric=True`` averages it with the document -> query direction
    ``L_d = mean_j -log exp(s_jj / t) / sum_i exp(s_ij / t)`` (CLIP's loss when there are no
    extra negatives).

    Args:
      query: [B_local, D] query embeddings (this device's rows; B = B_local x devices).
      document: [B_local, D] their documents; document ``i`` is query ``i``'s positive.
      negatives: None or [m, D] extra negative documents (this device's), e.g. the batch's mined
        hard negatives, candidates for every query of the global batch.
      temperature: ``t`` (0.05, SimCSE's / Contriever's; DPR uses raw dot products).
      negative_mask: None (every extra negative counts) or bool [B_local, M] for the global pool of
        ``M = m x devices`` negatives: False drops a pool entry for that query (e.g. a mined
        negative of another query that is this query's own document).
      symmetric: add the document -> query direction (default True).
      normalize: L2-normalize the embeddings first (default True).
      axis_name: mesh axis inside ``jax.shard_map``: documents, queries and negatives of every
        device are candidates. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the global batch.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> d = jnp.array([[0.9, 0.1], [0.1, 0.9]])
      >>> h = jnp.array([[0.7, 0.7]])
      >>> print(f"{float(losses.dense_retrieval_info_nce(q, d, h, temperature=0.5)):.4f}")
      0.3542

    Papers: "Dense Passage Retrieval for Open-Domain Question Answering", Karpukhin et al.,
    2020; "Representation Learning with Contrastive Predictive Coding", van den Oord et al.,
    2018 (InfoNCE).
    """
    q, d = _common.prepare(query, normalize), _common.prepare(document, normalize)
    all_q, all_d = _common.gather_rows(q, axis_name), _common.gather_rows(d, axis_name)
    own = _common.row_offset(q.shape[0], axis_name) + jnp.arange(q.shape[0])
    logits = q @ all_d.T / temperature  # [B_local, B]
    positive = jnp.take_along_axis(logits, own[:, None], axis=1)[:, 0]
    if negatives is not None:
        pool = _common.gather_rows(_common.prepare(negatives, normalize), axis_name)
        extra = q @ pool.T / temperature  # [B_local, M]
        mask = jnp.ones(extra.shape, bool) if negative_mask is None else negative_mask
        logits = jnp.concatenate([logits, extra], axis=1)
        keep = jnp.concatenate([jnp.ones((q.shape[0], all_d.shape[0]), bool), mask], axis=1)
        lse = _common.masked_logsumexp(logits, keep)
    else:
        lse = jax.nn.logsumexp(logits, axis=1)
    loss = jnp.mean(lse - positive)
    if symmetric:
        reverse = d @ all_q.T / temperature  # [B_local, B]: each document against every query
        loss = 0.5 * (loss + jnp.mean(jax.nn.logsumexp(reverse, axis=1) - positive))
    return _common.global_mean(loss, axis_name)


def star_hard_negative_loss(query: jax.Array, document: jax.Array, negatives: jax.Array, *,
                            temperature: float = 0.05, negative_mask: jax.Array | None = None,
                            normalize: bool = True, axis_name: str | None = None) -> jax.Array:
    """STAR's hard-negative term: each query against its own positive and its own ``k`` mined
    hard negatives only (the random-negative term is the in-batch loss, added by the caller).

    ``L_h = mean_i -log exp(s_ii / t) / (exp(s_ii / t) + sum_k w_ik exp(<q_i, h_ik> / t))``.

    Args:
      query: [B, D] query embeddings.
      document: [B, D] their positive documents.
      negatives: [B, k, D] each query's hard negative documents.
      temperature: ``t`` (0.05).
      negative_mask: None or bool [B, k]: False drops a negative (e.g. not mined yet).
      normalize: L2-normalize first (default True).
      axis_name: mesh axis inside ``jax.shard_map`` (the mean is over the global batch; the
        term itself is per query). None (default): one device.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> q = jnp.array([[1.0, 0.0]])
      >>> d = jnp.array([[0.9, 0.1]])
      >>> h = jnp.array([[[0.7, 0.7], [0.0, 1.0]]])
      >>> print(f"{float(losses.star_hard_negative_loss(q, d, h, temperature=0.5)):.4f}")
      0.5309

    Paper: "Optimizing Dense Retrieval Model Training with Hard Negatives", Zhan et al., 2021
    (STAR: static hard negatives plus random in-batch negatives).
    """
    q, d = _common.prepare(query, normalize), _common.prepare(document, normalize)
    h = _common.prepare(negatives, normalize)
    positive = jnp.sum(q * d, axis=-1) / temperature  # [b]
    hard = jnp.einsum("bd,bkd->bk", q, h) / temperature  # [b, k]
    mask = jnp.ones(hard.shape, bool) if negative_mask is None else negative_mask
    logits = jnp.concatenate([positive[:, None], hard], axis=1)
    keep = jnp.concatenate([jnp.ones((q.shape[0], 1), bool), mask], axis=1)
    loss = jnp.mean(_common.masked_logsumexp(logits, keep) - positive)
    return _common.global_mean(loss, axis_name)
