"""MoCHi: synthetic hard negatives by mixing each query's hardest negatives in feature space."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def mochi_negatives(query: jax.Array, negatives: jax.Array, rng: jax.Array, *,
                    num_hard: int = 1024, num_mix_negatives: int = 1024, num_mix_query: int = 128,
                    normalize: bool = True) -> jax.Array:
    """Per-query synthetic hard negatives for ``info_nce(..., extra_negatives=...)``.

    For each query q, let H(q) be its ``num_hard`` most similar negatives (by <q, n>). Then
    ``h_k = normalize(alpha_k n_i + (1 - alpha_k) n_j)``, alpha_k ~ U(0, 1), n_i, n_j ~ U(H(q)), for
    k < ``num_mix_negatives``, and ``h'_k = normalize(beta_k q + (1 - beta_k) n_j)``,
    beta_k ~ U(0, 0.5), n_j ~ U(H(q)), for k < ``num_mix_query`` (beta < 0.5 keeps the query's
    own contribution smaller than the negative's, so h' stays a negative). The outputs are
    stop-gradient (the paper treats synthetic points as constants).

    Args:
      query: [B, D] queries.
      negatives: [K, D] negatives to mix (e.g. the MoCo queue).
      rng: a ``jax.random`` key.
      num_hard: how many of the most similar negatives are mixed, at most K (default 1024).
      num_mix_negatives: negative-negative mixtures per query (default 1024).
      num_mix_query: query-negative mixtures per query (default 128).
      normalize: L2-normalize query and negatives first (default True).

    Returns:
      [B, num_mix_negatives + num_mix_query, D] unit-norm synthetic negatives.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> import jax
      >>> query = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> queue = jnp.array([[1.0, 0.2], [0.2, 1.0], [-1.0, 0.0]])
      >>> mixed = losses.mochi_negatives(query, queue, jax.random.key(0), num_hard=2,
      ...                                num_mix_negatives=3, num_mix_query=1)
      >>> print(mixed.shape, f"{float(jnp.linalg.norm(mixed[0, 0])):.4f}")
      (2, 4, 2) 1.0000

    Paper: "Hard Negative Mixing for Contrastive Learning", Kalantidis et al., 2020 (NeurIPS).
    """
    if not 1 <= num_hard <= negatives.shape[0]:
        raise ValueError(
            f"num_hard must be in [1, K={negatives.shape[0]}], got {num_hard}.")
    q = jax.lax.stop_gradient(_common.prepare(query, normalize))
    n = jax.lax.stop_gradient(_common.prepare(negatives, normalize))
    _, hard_index = jax.lax.top_k(q @ n.T, num_hard)
    hard = n[hard_index]  # [B, num_hard, D]
    batch = q.shape[0]
    k_first, k_second, k_alpha, k_query_partner, k_beta = jax.random.split(rng, 5)

    def pick(key, count):
        index = jax.random.randint(key, (batch, count), 0, num_hard)
        return jnp.take_along_axis(hard, index[..., None], axis=1)

    shape = (batch, num_mix_negatives, 1)
    alpha = jax.random.uniform(k_alpha, shape, q.dtype)
    mixed = (alpha * pick(k_first, num_mix_negatives)
             + (1.0 - alpha) * pick(k_second, num_mix_negatives))
    beta = jax.random.uniform(k_beta, (batch, num_mix_query, 1), q.dtype, 0.0, 0.5)
    mixed_query = beta * q[:, None, :] + (1.0 - beta) * pick(k_query_partner, num_mix_query)
    return jax.lax.stop_gradient(
        _common.l2_normalize(jnp.concatenate([mixed, mixed_query], axis=1)))
