"""Mann-Whitney (AUC) loss: logistic loss on every positive-minus-negative score difference."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def mw_auc(positive_scores: jax.Array, negative_scores: jax.Array, *,
           negative_mask: jax.Array | None = None) -> jax.Array:
    """``L = mean_{p, n} -log sigmoid(s_p - s_n)``, over ALL (positive, negative) pairs.

    Binary cross-entropy that each positive outranks each negative, a smooth upper bound on
    1 - AUC (the Mann-Whitney U statistic). As in the paper the pairs are global, across queries,
    which is what makes scores comparable between queries (calibration). For a per-query
    version, ``jax.vmap`` it over queries.

    Args:
      positive_scores: [P] scores of positive pairs, any shape (flattened), e.g. the diagonal of
        a [B, B] query-document score matrix.
      negative_scores: [M] scores of negative pairs, any shape (flattened), e.g. the
        off-diagonal entries.
      negative_mask: None (every negative counts) or bool of ``negative_scores``' shape: the
        mean is over the positives and the True negatives only (e.g. mined hard negatives not
        mined yet are False).

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> scores = jnp.array([[2.0, 0.5], [1.0, 3.0]])
      >>> off_diagonal = scores[~jnp.eye(2, dtype=bool)]
      >>> print(f"{float(losses.mw_auc(jnp.diagonal(scores), off_diagonal)):.4f}")
      0.1801

    Paper: "Optimizing What Matters: AUC-Driven Learning for Robust Neural Retrieval",
    Sheikholeslami et al., 2025.
    """
    pos = _common.upcast(positive_scores).reshape(-1)
    neg = _common.upcast(negative_scores).reshape(-1)
    pairs = jax.nn.log_sigmoid(pos[:, None] - neg[None, :])
    if negative_mask is None:
        return -jnp.mean(pairs)
    keep = jnp.broadcast_to(jnp.asarray(negative_mask).reshape(-1)[None, :], pairs.shape)
    return -jnp.sum(jnp.where(keep, pairs, 0.0)) / jnp.maximum(jnp.sum(keep), 1)
