"""Alignment and uniformity on the hypersphere."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def alignment(z1: jax.Array, z2: jax.Array, *, alpha: float = 2,
              normalize: bool = True) -> jax.Array:
    """``L_align = mean_i ||z1_i - z2_i||^alpha`` (positive pairs close).

    With ``normalize`` the inputs are L2-normalized first, as the paper assumes. Identical pairs
    give 0 with a finite (zero) gradient for any alpha > 0.

    Args:
      z1: [B, D] embeddings.
      z2: [B, D] their positives.
      alpha: exponent of the distance (default 2).
      normalize: L2-normalize the inputs first (default True).

    Returns:
      Scalar float32 loss (>= 0).

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.alignment(z1, z2)):.4f}")
      0.0249

    Paper: "Understanding Contrastive Representation Learning through Alignment and Uniformity
    on the Hypersphere", Wang & Isola, 2020 (ICML).
    """
    a, b = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
    sq = jnp.sum((a - b) ** 2, axis=-1)
    if alpha == 2:
        return jnp.mean(sq)
    positive = sq > 0
    safe = jnp.where(positive, sq, 1.0)  # keeps the gradient of sq^(alpha/2) finite at 0.
    return jnp.mean(jnp.where(positive, safe ** (alpha / 2.0), 0.0))


def uniformity(z: jax.Array, *, t: float = 2, normalize: bool = True,
               axis_name: str | None = None) -> jax.Array:
    """``L_uniform = log mean_{i != j} exp(-t ||z_i - z_j||^2)`` over distinct pairs.

    The value is <= 0; more negative is more uniform. B = 1 has no pairs and gives 0 (the value
    of a collapsed batch).

    Args:
      z: [B, D] embeddings.
      t: scale of the Gaussian potential (default 2).
      normalize: L2-normalize the inputs first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; pairs over the global batch. None (default): one device.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.uniformity(z1)):.4f}")
      -1.5479

    Paper: "Understanding Contrastive Representation Learning through Alignment and Uniformity
    on the Hypersphere", Wang & Isola, 2020 (ICML).
    """
    x = _common.prepare(z, normalize)
    keys = _common.gather_rows(x, axis_name)
    total = keys.shape[0]
    if total == 1:
        return jnp.zeros((), x.dtype)
    sq_distance = (jnp.sum(x * x, axis=-1)[:, None] + jnp.sum(keys * keys, axis=-1)[None, :]
                   - 2.0 * x @ keys.T)
    own = _common.row_offset(x.shape[0], axis_name) + jnp.arange(x.shape[0])
    others = jnp.arange(total) != own[:, None]
    per_row = _common.masked_logsumexp(-t * sq_distance, others)
    log_sum = _common.global_logsumexp(per_row, 0, axis_name)[0]
    return log_sum - jnp.log(total * (total - 1.0))
