"""Feature transformation for MoCo-style InfoNCE: positive extrapolation and negative
interpolation in the embedding space."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def feature_transformation_info_nce(query: jax.Array, key: jax.Array, negatives: jax.Array,
                                    rng: jax.Array, *, temperature: float = 0.2,
                                    pos_alpha: float = 2.0, neg_alpha: float = 1.6,
                                    extrapolate: bool = True, normalize: bool = True
                                    ) -> jax.Array:
    """MoCo's InfoNCE on transformed features: extrapolated positives, interpolated negatives.

    On the unit query ``q_i``, key ``k_i`` and negatives ``n_m``:
    ``q^_i = l q_i + (1 - l) k_i``, ``k^_i = l k_i + (1 - l) q_i`` (positive extrapolation,
    ``l = 1 + Beta(pos_alpha, pos_alpha)`` in [1, 2]: the pair is pushed apart, a harder
    positive) and ``n^_m = m n_m + (1 - m) n_pi(m)`` (negative interpolation, ``m ~
    Beta(neg_alpha, neg_alpha)``, ``pi`` a random permutation of the negatives), then
    ``L = mean_i -log exp(q^_i.k^_i / t) / (exp(q^_i.k^_i / t) + sum_m exp(q^_i.n^_m / t))``.

    As in the released code's default run (``DTennant/CL-Visualizing-Feature-Transformation``,
    ``run.sh``: ``--mixnorm_target posneg --sep_alpha --pos_alpha 2.0 --neg_alpha 1.6
    --mask_distribution beta --expolation_mask`` with the default ``--dim_mask none``), ``l`` and
    ``m`` are one scalar draw per call, shared by every example and dimension, and the
    transformed features are not re-normalized. ``extrapolate=False`` gives positive
    interpolation (``l ~ Beta``). The draws: ``k_l, k_m, k_pi = jax.random.split(rng, 3)``,
    ``l = 1 + jax.random.beta(k_l, pos_alpha, pos_alpha)``, ``m = jax.random.beta(k_m,
    neg_alpha, neg_alpha)``, ``pi = jax.random.permutation(k_pi, K)``. Gradients flow through
    every input (stop the key's and the queue's gradient outside, as MoCo does).

    Args:
      query: [B, D] queries.
      key: [B, D] keys; key ``i`` is query ``i``'s positive.
      negatives: [K, D] negatives shared by every query (MoCo's queue).
      rng: PRNG key for ``l``, ``m`` and ``pi``.
      temperature: logits are ``similarity / temperature`` (default 0.2, MoCo v2; the released
        code's default is 0.07).
      pos_alpha: Beta parameter of the positive extrapolation (default 2.0).
      neg_alpha: Beta parameter of the negative interpolation (default 1.6).
      extrapolate: ``l = 1 + Beta`` (default True) or ``l = Beta`` (interpolation).
      normalize: L2-normalize the inputs before transforming them (default True).

    Returns:
      Scalar float32 loss, the mean over the B queries.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> query = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> key = jnp.array([[0.9, 0.1], [0.2, 0.8]])
      >>> queue = jnp.array([[-1.0, 0.0], [0.0, -1.0], [1.0, -1.0]])
      >>> loss = losses.feature_transformation_info_nce(query, key, queue, jax.random.key(0))
      >>> print(bool(jnp.isfinite(loss)))
      True

    Paper: "Improving Contrastive Learning by Visualizing Feature Transformation", Zhu et al.,
    2021 (ICCV).
    """
    q, k = _common.prepare(query, normalize), _common.prepare(key, normalize)
    n = _common.prepare(negatives, normalize)
    k_pos, k_neg, k_perm = jax.random.split(rng, 3)
    lam = jax.random.beta(k_pos, pos_alpha, pos_alpha, dtype=q.dtype)
    lam = lam + 1.0 if extrapolate else lam
    mu = jax.random.beta(k_neg, neg_alpha, neg_alpha, dtype=q.dtype)
    perm = jax.random.permutation(k_perm, n.shape[0])
    q_hat = lam * q + (1.0 - lam) * k
    k_hat = lam * k + (1.0 - lam) * q
    n_hat = mu * n + (1.0 - mu) * n[perm]
    positive = jnp.sum(q_hat * k_hat, axis=-1) / temperature  # [B]
    negative = (q_hat @ n_hat.T) / temperature  # [B, K]
    lse = jax.nn.logsumexp(jnp.concatenate([positive[:, None], negative], axis=1), axis=1)
    return jnp.mean(lse - positive)
