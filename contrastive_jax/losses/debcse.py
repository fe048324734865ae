"""DebCSE-style debiased InfoNCE: in-batch negatives re-weighted by inverse propensity over their
surface similarity, likely false negatives (high semantic similarity) left out."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def token_jaccard(tokens_a: jax.Array, tokens_b: jax.Array, *, pad_id: int = 0) -> jax.Array:
    """Surface similarity: Jaccard index of the token-id sets, ``|A n B| / |A u B|``.

    Args:
      tokens_a: int [B, L] token ids, ``pad_id`` ignored.
      tokens_b: int [C, M] token ids.
      pad_id: the padding id (default 0).

    Returns:
      float32 [B, C] in [0, 1] (0 where both rows are empty). Memory O(B C L M).

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> print(losses.token_jaccard(jnp.array([[5, 6, 7, 0]]),
      ...                            jnp.array([[5, 6, 0, 0], [8, 8, 0, 0]])))
      [[0.6666667 0.       ]]
    """
    def distinct(tokens):  # first occurrence of each non-pad id in its row
        length = tokens.shape[1]
        earlier = jnp.tril(jnp.ones((length, length), bool), k=-1)
        repeated = jnp.any((tokens[:, :, None] == tokens[:, None, :]) & earlier, axis=-1)
        return (tokens != pad_id) & ~repeated

    first_a, first_b = distinct(tokens_a), distinct(tokens_b)
    match = tokens_a[:, None, :, None] == tokens_b[None, :, None, :]  # [B, C, L, M]
    shared = jnp.sum(jnp.any(match & first_b[None, :, None, :], axis=-1) & first_a[:, None],
                     axis=-1).astype(jnp.float32)
    union = (jnp.sum(first_a, axis=1)[:, None] + jnp.sum(first_b, axis=1)[None]
             - shared).astype(jnp.float32)
    return jnp.where(union > 0, shared / jnp.maximum(union, 1.0), 0.0)


def debcse_weights(surface: jax.Array, semantic: jax.Array, own: jax.Array, *,
                   num_bins: int = 10, false_negative_threshold: float = 0.9,
                   axis_name: str | None = None) -> jax.Array:
    """Inverse-propensity weights ``[b, B]`` of the negatives (0 for own column and dropped).

    A pair (i, j != i) is kept as a negative when ``semantic_ij < false_negative_threshold``;
    its propensity is the share ``p_k = n_k / N`` of kept pairs (over the global batch) whose
    surface similarity falls in the same of ``num_bins`` equal bins of [0, 1], and its weight
    ``w_ij = N / (K n_k) = 1 / (K p_k)`` with K the number of non-empty bins: every surface-
    similarity level gets the same total weight, and the weights average 1 over kept pairs.

    Args:
      surface: [b, B] surface similarity in [0, 1] (local rows by global columns).
      semantic: [b, B] semantic (cosine) similarity, no gradient needed.
      own: bool [b, B], True at each row's own (positive) column.
      num_bins: bins of [0, 1] for the propensity histogram (default 10).
      false_negative_threshold: semantic similarity at or above which a pair is dropped.
      axis_name: mesh axis inside ``jax.shard_map``: the histogram over the global batch.

    Returns:
      float32 [b, B] weights, 0 on the own column and on dropped pairs.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> surface = jnp.array([[1.0, 0.05, 0.05], [0.05, 1.0, 0.55], [0.05, 0.55, 1.0]])
      >>> print(losses.debcse_weights(surface, jnp.zeros((3, 3)), jnp.eye(3, dtype=bool)))
      [[0.   0.75 0.75]
       [0.75 0.   1.5 ]
       [0.75 1.5  0.  ]]
    """
    kept = (semantic < false_negative_threshold) & ~own
    bins = jnp.clip(jnp.floor(surface * num_bins).astype(jnp.int32), 0, num_bins - 1)
    one_hot = (bins[..., None] == jnp.arange(num_bins)) & kept[..., None]
    counts = _common.global_sum(jnp.sum(one_hot, axis=(0, 1)).astype(jnp.float32), axis_name)
    total, filled = jnp.sum(counts), jnp.sum(counts > 0).astype(jnp.float32)
    per_bin = total / (jnp.maximum(filled, 1.0) * jnp.maximum(counts, 1.0))
    return jnp.where(kept, per_bin[bins], 0.0)


def debcse(z1: jax.Array, z2: jax.Array, surface: jax.Array, *, temperature: float = 0.05,
           num_bins: int = 10, false_negative_threshold: float = 0.9, normalize: bool = True,
           axis_name: str | None = None) -> jax.Array:
    """InfoNCE of two views with inverse-propensity weighted negatives.

    ``l_ij = cos(z1_i, z2_j) / t``, ``L = mean_i [ -l_ii + log( e^{l_ii} + sum_{j != i} w_ij
    e^{l_ij} ) ]`` with ``w = debcse_weights(surface, semantic=sg(cos(z1, z2)))``: negatives
    whose semantic similarity (no gradient) reaches ``false_negative_threshold`` are treated as
    false negatives and left out; the others are weighted by the inverse of the in-batch
    frequency of their surface-similarity level, so that surface overlap (length, shared words)
    cannot separate positives from negatives. With all weights 1 this is SimCSE's loss.

    This is an in-batch reading of DebCSE's "inverse propensity weighted sampling ... according
    to both the surface and semantic similarity between sentences": the paper builds its pairs
    by sampling over the corpus with a pretrained scorer, and its exact equations and code were
    not available offline, so ``num_bins`` (10) and ``false_negative_threshold`` (0.9) are this
    library's choices, not the paper's. The temperature default is SimCSE's 0.05. With every
    negative at or above the threshold the loss is exactly 0; the DebCSE method logs the share
    kept as ``negatives_kept``.

    Not blockwise: the weights need the propensity histogram of the whole [B, B] matrix first
    (a second pass), so the dense form is the natural one.

    Args:
      z1: [b, D] first views (this device's rows under ``axis_name``).
      z2: [b, D] second views.
      surface: [b, B] surface similarity in [0, 1] of local sentence i and global sentence j
        (e.g. ``token_jaccard(tokens, all_tokens)``).
      temperature: logit temperature (default 0.05).
      num_bins: surface-similarity bins of the propensity histogram (default 10).
      false_negative_threshold: cosine at or above which a negative is dropped (default 0.9;
        > 1 keeps every negative).
      normalize: cosine similarities (default True).
      axis_name: mesh axis inside ``jax.shard_map``: negatives and the histogram over the
        global batch; None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> surface = jnp.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.5, 0.5, 1.0]])
      >>> print(f"{float(losses.debcse(z1, z2, surface, temperature=0.5)):.4f}")
      0.6059

    Paper: "DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the
    Debiasing Perspective", Miao et al., 2023 (CIKM).
    """
    q, k = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
    keys = _common.gather_rows(k, axis_name)
    if surface.shape != (q.shape[0], keys.shape[0]):
        raise ValueError(f"surface must be [b, B] = {(q.shape[0], keys.shape[0])} (local rows "
                         f"by global columns), got {surface.shape}.")
    cos = q @ keys.T
    own_col = _common.row_offset(q.shape[0], axis_name) + jnp.arange(q.shape[0])
    own = jnp.arange(keys.shape[0])[None] == own_col[:, None]
    semantic = jax.lax.stop_gradient(cos if normalize else
                                     _common.l2_normalize(q) @ _common.l2_normalize(keys).T)
    weights = debcse_weights(surface, semantic, own, num_bins=num_bins,
                             false_negative_threshold=false_negative_threshold,
                             axis_name=axis_name)
    logits = cos / temperature
    log_weights = jnp.where(own, 0.0, jnp.log(jnp.where(weights > 0, weights, 1.0)))
    lse = _common.masked_logsumexp(logits + log_weights, own | (weights > 0))
    positive = jnp.sum(jnp.where(own, logits, 0.0), axis=1)
    return _common.global_mean(jnp.mean(lse - positive), axis_name)
