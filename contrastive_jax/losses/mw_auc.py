"""Mann-Whitney (AUC) loss: logistic loss on every positive-minus-negative score difference."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def mw_auc(positive_scores, negative_scores):
    """``L = mean_{p, n} -log sigmoid(s_p - s_n)``, over ALL (positive, negative) pairs.

    Binary cross-entropy that each positive outranks each negative, a smooth upper bound on
    1 - AUC (the Mann-Whitney U statistic). As in the paper the pairs are global, across queries,
    which is what makes scores comparable between queries (calibration).

    Shapes: positive_scores: [P] and negative_scores: [M], any shapes (flattened), e.g. the
    diagonal and the off-diagonal entries of a [B, B] query-document score matrix. Returns a
    scalar. For a per-query version, ``jax.vmap`` it over queries.

    Paper: "Optimizing What Matters: AUC-Driven Learning for Robust Neural Retrieval",
    Sheikholeslami et al., 2025.
    """
    pos = _common.upcast(positive_scores).reshape(-1)
    neg = _common.upcast(negative_scores).reshape(-1)
    return -jnp.mean(jax.nn.log_sigmoid(pos[:, None] - neg[None, :]))
