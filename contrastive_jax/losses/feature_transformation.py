"""Feature transformation for MoCo-style InfoNCE: positive extrapolation and negative
interpolation in the embedding space."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def feature_transformation_draws(rng: jax.Array, num_negatives: int, *, pos_alpha: float = 2.0,
                                 neg_alpha: float = 1.6, extrapolate: bool = True
                                 ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The random mixing of one step: ``l = 1 + Beta(pos_alpha, pos_alpha)`` (extrapolation; a
    plain ``Beta`` draw with ``extrapolate=False``), ``m ~ Beta(neg_alpha, neg_alpha)`` and a
    random permutation ``pi`` of the negatives.

    One scalar ``l`` and ``m`` per step, shared by every example and dimension, as in the
    released code's default run (``DTennant/CL-Visualizing-Feature-Transformation``,
    ``run.sh``: ``--mixnorm_target posneg --sep_alpha --pos_alpha 2.0 --neg_alpha 1.6
    --mask_distribution beta --expolation_mask``, default ``--dim_mask none``). The keys:
    ``k_l, k_m, k_pi = jax.random.split(rng, 3)``.

    Args:
      rng: PRNG key of the step.
      num_negatives: K, the number of negatives permuted.
      pos_alpha: Beta parameter of the positive extrapolation (default 2.0).
      neg_alpha: Beta parameter of the negative interpolation (default 1.6).
      extrapolate: add 1 to the positive draw, ``l`` in [1, 2] (default True).

    Returns:
      ``(l [], m [], pi [K] int32)``, for ``feature_transformation_info_nce``.

    Examples:
      >>> import jax
      >>> from contrastive_jax import losses
      >>> l, m, pi = losses.feature_transformation_draws(jax.random.key(0), 4)
      >>> print(1.0 <= float(l) <= 2.0, 0.0 <= float(m) <= 1.0, sorted(pi.tolist()))
      True True [0, 1, 2, 3]
    """
    k_pos, k_neg, k_perm = jax.random.split(rng, 3)
    lam = jax.random.beta(k_pos, pos_alpha, pos_alpha)
    lam = lam + 1.0 if extrapolate else lam
    mu = jax.random.beta(k_neg, neg_alpha, neg_alpha)
    return lam, mu, jax.random.permutation(k_perm, num_negatives)


def feature_transformation_info_nce(query: jax.Array, key: jax.Array, negatives: jax.Array,
                                    positive_mix: jax.Array, negative_mix: jax.Array,
                                    negative_partner: jax.Array, *, temperature: float = 0.2,
                                    normalize: bool = True) -> jax.Array:
    """MoCo's InfoNCE on transformed features: extrapolated positives, interpolated negatives.

    On the unit query ``q_i``, key ``k_i`` and negatives ``n_m``:
    ``q^_i = l q_i + (1 - l) k_i``, ``k^_i = l k_i + (1 - l) q_i`` (positive extrapolation for
    ``l >= 1``: the pair is pushed apart, a harder positive) and ``n^_m = m n_m + (1 - m)
    n_pi(m)`` (negative interpolation, ``m`` in [0, 1]: new, more diverse negatives), then
    ``L = mean_i -log exp(q^_i.k^_i / t) / (exp(q^_i.k^_i / t) + sum_m exp(q^_i.n^_m / t))``.
    The transformed features are not re-normalized (the released code's default). Draw ``l``,
    ``m`` and ``pi`` with ``feature_transformation_draws`` (the paper's Beta distributions);
    scalars are the released default, arrays broadcastable to [B, D] / [K, D] mix per example
    and dimension. Gradients flow through every input (stop the key's and the queue's gradient
    outside, as MoCo does).

    Args:
      query: [B, D] queries.
      key: [B, D] keys; key ``i`` is query ``i``'s positive.
      negatives: [K, D] negatives shared by every query (MoCo's queue).
      positive_mix: ``l``, a scalar (or broadcastable to [B, D]).
      negative_mix: ``m``, a scalar (or broadcastable to [K, D]).
      negative_partner: [K] int, ``pi``: negative ``m`` is mixed with negative ``pi(m)``.
      temperature: logits are ``similarity / temperature`` (default 0.2, MoCo v2; the released
        code's default is 0.07).
      normalize: L2-normalize the inputs before transforming them (default True).

    Returns:
      Scalar float32 loss, the mean over the B queries.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> query = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> key = jnp.array([[0.9, 0.1], [0.2, 0.8]])
      >>> queue = jnp.array([[-1.0, 0.0], [0.0, -1.0], [1.0, -1.0]])
      >>> loss = losses.feature_transformation_info_nce(query, key, queue, 1.5, 0.5,
      ...                                               jnp.array([2, 0, 1]))
      >>> print(f"{float(loss):.4f}")
      0.0300

    Paper: "Improving Contrastive Learning by Visualizing Feature Transformation", Zhu et al.,
    2021 (ICCV).
    """
    q, k = _common.prepare(query, normalize), _common.prepare(key, normalize)
    n = _common.prepare(negatives, normalize)
    lam = jnp.asarray(positive_mix, q.dtype)
    mu = jnp.asarray(negative_mix, q.dtype)
    q_hat = lam * q + (1.0 - lam) * k
    k_hat = lam * k + (1.0 - lam) * q
    n_hat = mu * n + (1.0 - mu) * n[negative_partner]
    positive = jnp.sum(q_hat * k_hat, axis=-1) / temperature  # [B]
    negative = (q_hat @ n_hat.T) / temperature  # [B, K]
    lse = jax.nn.logsumexp(jnp.concatenate([positive[:, None], negative], axis=1), axis=1)
    return jnp.mean(lse - positive)
