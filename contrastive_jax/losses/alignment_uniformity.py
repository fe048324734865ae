"""Alignment and uniformity on the hypersphere."""

import jax.numpy as jnp

from contrastive_jax.losses import _common


def alignment(z1, z2, *, alpha=2, normalize=True):
    """``L_align = mean_i ||z1_i - z2_i||^alpha`` (positive pairs close).

    Shapes: z1, z2: [B, D] (positive pairs). Returns a scalar. With ``normalize`` the inputs are
    L2-normalized first, as the paper assumes. Identical pairs give 0 with a finite (zero)
    gradient for any alpha > 0.

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


def uniformity(z, *, t=2, normalize=True, axis_name=None):
    """``L_uniform = log mean_{i != j} exp(-t ||z_i - z_j||^2)`` over distinct pairs.

    Shapes: z: [B, D]. Returns a scalar (<= 0; more negative is more uniform). B = 1 has no
    pairs and gives 0 (the value of a collapsed batch). ``axis_name``: pairs over the global batch.

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
