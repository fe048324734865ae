"""Label-free diagnostics of an embedding: alignment, uniformity, effective rank, collapse.

* alignment and uniformity: Wang & Isola, "Understanding Contrastive Representation Learning
  through Alignment and Uniformity on the Hypersphere", 2020.
* RankMe: Garrido et al., "RankMe: Assessing the Downstream Performance of Pretrained
  Self-Supervised Representations by Their Rank", 2023.
* per-dimension std of normalized embeddings: Chen & He, "Exploring Simple Siamese
  Representation Learning" (SimSiam), 2021 -- about ``1/sqrt(D)`` when healthy, 0 collapsed.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax.evaluate.knn import l2_normalize

_HIGHEST = jax.lax.Precision.HIGHEST


@functools.partial(jax.jit, static_argnames=("alpha",))
def alignment(z1, z2, alpha: float = 2) -> jax.Array:
    """``E_i ||f(x_i) - f(y_i)||_2^alpha`` over positive pairs, on L2-normalized rows.

    z1, z2: [N, D] embeddings of two views of the same N examples. 0 when identical, 4 (alpha=2)
    when every pair is antipodal.
    """
    difference = (l2_normalize(jnp.asarray(z1, jnp.float32))
                  - l2_normalize(jnp.asarray(z2, jnp.float32)))
    return jnp.mean(jnp.linalg.norm(difference, axis=-1) ** alpha)


@jax.jit
def uniformity(z, t: float = 2) -> jax.Array:
    """``log E_{i<j} exp(-t ||f(x_i) - f(x_j)||_2^2)`` over distinct pairs of L2-normalized rows.

    z: [N, D], N >= 2. Lower is more uniform; two antipodal points give ``-4 t``, a collapsed
    embedding 0. Memory is O(N^2).
    """
    z = l2_normalize(jnp.asarray(z, jnp.float32))
    num = z.shape[0]
    similarity = jnp.matmul(z, z.T, precision=_HIGHEST)
    squared_distance = jnp.maximum(2.0 - 2.0 * similarity, 0.0)
    upper = jnp.triu(jnp.ones((num, num), bool), k=1)
    log_kernel = jnp.where(upper, -t * squared_distance, -jnp.inf)
    return jax.nn.logsumexp(log_kernel) - jnp.log(num * (num - 1) / 2)


@jax.jit
def rankme(z, eps: float = 1e-7) -> jax.Array:
    """``exp(-sum_k p_k log p_k)`` with ``p_k = sigma_k / ||sigma||_1 + eps`` and ``sigma`` the
    singular values of the (unnormalized) embedding matrix ``z: [N, D]``.

    A smooth effective rank in ``[1, min(N, D)]``: 1 for a rank-one (collapsed) embedding,
    ``min(N, D)`` when all singular values are equal.
    """
    sigma = jnp.linalg.svd(jnp.asarray(z, jnp.float32), compute_uv=False)
    p = sigma / jnp.maximum(jnp.sum(sigma), 1e-30) + eps
    return jnp.exp(-jnp.sum(p * jnp.log(p)))


@jax.jit
def per_dimension_std(z) -> jax.Array:
    """Std over examples of each coordinate of the L2-normalized embeddings: [D] from z: [N, D].

    About ``1/sqrt(D)`` for embeddings spread over the sphere, 0 when every example maps to
    the same direction (complete collapse).
    """
    return jnp.std(l2_normalize(jnp.asarray(z, jnp.float32)), axis=0)


def representation_diagnostics(z1, z2=None, *, max_points: int = 4096) -> dict:
    """All of the above as Python floats.

    z1: [N, D]; z2: [N, D] a second view of the same examples (adds ``alignment``).
    Uniformity uses the first ``max_points`` rows (it is O(N^2)). Keys: ``rankme``,
    ``uniformity``, ``embedding_std`` (mean per-dimension std), ``embedding_std_ratio``
    (that times sqrt(D): ~1 healthy, 0 collapsed), ``alignment``.
    """
    z1 = jnp.asarray(z1, jnp.float32)
    std = float(jnp.mean(per_dimension_std(z1)))
    diagnostics = {
        "rankme": float(rankme(z1)),
        "uniformity": float(uniformity(z1[:max_points])),
        "embedding_std": std,
        "embedding_std_ratio": std * float(np.sqrt(z1.shape[1])),
    }
    if z2 is not None:
        diagnostics["alignment"] = float(alignment(z1, z2))
    return diagnostics
