"""WhitenedCSE: shuffled group whitening of each view, then InfoNCE between the whitened views."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common
from contrastive_jax.losses.infonce import info_nce


def inverse_sqrt_psd(cov: jax.Array) -> jax.Array:
    """``C^{-1/2} = U diag(s^{-1/2}) U^T`` of symmetric positive definite ``C`` (ZCA whitening).

    The derivative uses the divided differences of ``f(s) = s^{-1/2}`` (Daleckii-Krein), with
    ``f'`` where two eigenvalues coincide, so it stays finite for repeated eigenvalues (where
    differentiating ``eigh`` divides by zero).

    Args:
      cov: [..., d, d] symmetric positive definite matrices.

    Returns:
      [..., d, d] their inverse square roots.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> print(losses.inverse_sqrt_psd(jnp.array([[4.0, 0.0], [0.0, 0.25]])))
      [[0.5 0. ]
       [0.  2. ]]
    """
    return _inverse_sqrt_psd(cov)


@jax.custom_jvp
def _inverse_sqrt_psd(cov):
    s, u = jnp.linalg.eigh(cov)
    return (u * jax.lax.rsqrt(s)[..., None, :]) @ jnp.swapaxes(u, -1, -2)


@_inverse_sqrt_psd.defjvp
def _inverse_sqrt_psd_jvp(primals, tangents):
    (cov,), (dcov,) = primals, tangents
    s, u = jnp.linalg.eigh(cov)
    f = jax.lax.rsqrt(s)
    ut = jnp.swapaxes(u, -1, -2)
    diff = s[..., :, None] - s[..., None, :]
    close = jnp.abs(diff) <= 1e-6 * jnp.maximum(jnp.abs(s[..., :, None]),
                                                 jnp.abs(s[..., None, :]))
    mean = 0.5 * (s[..., :, None] + s[..., None, :])
    slope = jnp.where(close, -0.5 * mean ** -1.5,
                      (f[..., :, None] - f[..., None, :]) / jnp.where(close, 1.0, diff))
    out = (u * f[..., None, :]) @ ut
    dsym = 0.5 * (dcov + jnp.swapaxes(dcov, -1, -2))
    return out, u @ (slope * (ut @ dsym @ u)) @ ut


def group_permutations(rng: jax.Array, num_views: int, dim: int) -> jax.Array:
    """One random channel permutation per view (WhitenedCSE's "shuffle").

    Args:
      rng: a ``jax.random`` key.
      num_views: V.
      dim: D, the embedding dimension.

    Returns:
      int32 [V, D]; row v is view v's permutation.

    Examples:
      >>> import jax
      >>> from contrastive_jax import losses
      >>> print(losses.group_permutations(jax.random.key(0), 2, 4).shape)
      (2, 4)
    """
    return jax.vmap(lambda k: jax.random.permutation(k, dim))(jax.random.split(rng, num_views))


def shuffled_group_whitening(z: jax.Array, permutation: jax.Array, *, num_groups: int,
                             eps: float = 1e-5, axis_name: str | None = None) -> jax.Array:
    """Shuffled group (ZCA) whitening of a batch ``z [N, D]``.

    Channels are permuted (``permutation``), split into ``num_groups`` groups of ``D / G``, each
    group is centred and ZCA-whitened over the batch, ``x_g <- (x_g - mu_g) (Sigma_g +
    eps I)^{-1/2}`` with ``Sigma_g = X_g^T X_g / N`` (the released code divides by N), and the
    channels are put back in their order. ``eps`` (0 in the released code) keeps tiny batches
    finite. With ``axis_name`` the mean and covariances are over the global batch.

    Args:
      z: [N, D] embeddings (this device's rows under ``axis_name``).
      permutation: int [D] channel permutation (identity: plain group whitening).
      num_groups: G, must divide D.
      eps: added to the covariance diagonal (default 1e-5).
      axis_name: mesh axis inside ``jax.shard_map``; None (default): one device.

    Returns:
      [N, D] float32 (or wider) whitened embeddings.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z = jax.random.normal(jax.random.key(0), (64, 4))
      >>> w = losses.shuffled_group_whitening(z, jnp.arange(4), num_groups=2, eps=0.0)
      >>> cov = w.T @ w / 64  # identity within each group of 2 channels
      >>> bool(jnp.allclose(cov[:2, :2], jnp.eye(2), atol=1e-4))
      True
    """
    n, dim = z.shape
    if dim % num_groups:
        divisors = [g for g in range(1, dim + 1) if dim % g == 0]
        raise ValueError(f"shuffled group whitening needs num_groups dividing the embedding "
                         f"dimension {dim}, got {num_groups}; valid: {divisors}.")
    centered = _common.batch_centered(z, axis_name)[:, permutation]
    groups = centered.reshape(n, num_groups, dim // num_groups).transpose(1, 0, 2)  # [G, N, d]
    count = _common.global_count(n, axis_name)
    cov = _common.global_sum(jnp.swapaxes(groups, 1, 2) @ groups, axis_name) / count
    cov = cov + eps * jnp.eye(dim // num_groups, dtype=cov.dtype)
    whitened = (groups @ inverse_sqrt_psd(cov)).transpose(1, 0, 2).reshape(n, dim)
    return whitened[:, jnp.argsort(permutation)]


def whitenedcse(views: jax.Array, rng: jax.Array, *, num_groups: int = 128,
                temperature: float = 0.05, eps: float = 1e-5, normalize: bool = True,
                axis_name: str | None = None, block_size: int | None = None,
                cross_device: str = "ring") -> jax.Array:
    """WhitenedCSE: each view shuffled-group-whitened with its own permutation, then InfoNCE
    of the first view against each other view.

    ``w_v = SGW(z_v; pi_v)``, ``L = sum_{v=1}^{V-1} info_nce(w_0, w_v; t)`` (the released code
    sums ``CE(w_0, w_1) + CE(w_0, w_2)`` for its ``num_pos=3`` dropout views); in-batch
    negatives, cosine similarity. The released model puts a dense + tanh layer between the
    whitening and the loss; ``methods.sentence.WhitenedCSE`` does, this function is the
    head-free composition.

    Args:
      views: [V, B, D] embeddings of V >= 2 (dropout) views of the same B sentences.
      rng: key for the per-view channel permutations (pass the same key on every device).
      num_groups: whitening groups G, dividing D (default 128, the released code for D = 768).
      temperature: InfoNCE temperature (default 0.05, the released run script's ``--temp``).
      eps: covariance ridge of the whitening (default 1e-5; the code has none).
      normalize: cosine similarities (default True).
      axis_name: mesh axis inside ``jax.shard_map``: whitening statistics and negatives over
        the global batch; None (default): one device.
      block_size: the InfoNCE's memory-efficient exact form (see ``info_nce``); the whitening
        itself needs only the [G, D/G, D/G] covariances.
      cross_device: with ``block_size`` and ``axis_name``: ``"ring"`` (default) or
        ``"all_gather"``.

    Returns:
      Scalar float32 loss (a sum of V - 1 InfoNCE means).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> views = jax.random.normal(jax.random.key(0), (3, 16, 4))
      >>> loss = losses.whitenedcse(views, jax.random.key(1), num_groups=2, temperature=0.1)
      >>> bool(jnp.isfinite(loss))
      True

    Paper: "WhitenedCSE: Whitening-based Contrastive Learning of Sentence Embeddings",
    Zhuo et al., 2023 (ACL).
    """
    if views.ndim != 3 or views.shape[0] < 2:
        raise ValueError(f"whitenedcse takes views [V >= 2, B, D], got shape {views.shape}.")
    permutations = group_permutations(rng, views.shape[0], views.shape[-1])
    whitened = [shuffled_group_whitening(views[v], permutations[v], num_groups=num_groups,
                                         eps=eps, axis_name=axis_name)
                for v in range(views.shape[0])]
    return sum(info_nce(whitened[0], w, temperature=temperature, normalize=normalize,
                        axis_name=axis_name, block_size=block_size, cross_device=cross_device)
               for w in whitened[1:])
