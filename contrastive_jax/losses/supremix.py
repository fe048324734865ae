"""SupReMix: supervised contrastive regression with mixtures as hard negatives and positives."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common

# The released code's Beta for the anchor's share of a hard negative (its ``--beta 0``).
NEGATIVE_MIX_BETA = (2.0, 8.0)


def supremix(features: jax.Array, targets: jax.Array, negative_mix: jax.Array, *,
             temperature: float = 0.3, positive_window: float = 5.0,
             distance_weight: bool = True, normalize: bool = True,
             axis_name: str | None = None) -> jax.Array:
    """SupReMix: SupCon over a regression batch plus embedding-level mixtures of its views.

    Every view ``a`` (target ``y_a``) of the N = B V views is an anchor; ``s(a, x) = z_a . x``.

    * hard negatives (anchor-inclusive): ``m = l z_a + (1 - l) z_k`` for every view ``k`` with
      ``y_k != y_a``, ``l = negative_mix[a, k]`` (the released code draws ``l ~ Beta(2, 8)``),
      target ``l y_a + (1 - l) y_k``;
    * hard positives (anchor-exclusive): ``m = l z_j + (1 - l) z_k`` for every pair of views
      with ``y_j < y_a < y_k`` and both within ``positive_window`` of ``y_a``,
      ``l = (y_k - y_a) / (y_k - y_j)``, so the mixture's target is exactly ``y_a``.

    ``L_a = -1/|P_a| sum_{p in P_a} [ s(a, p) / t - log Z_a ]``, with ``P_a`` the other views of
    target ``y_a`` and the hard positives, and
    ``Z_a = sum_{x != a} w(y_a, y_x) exp(s(a, x) / t)`` over the other views, the hard
    negatives and the hard positives, ``w(y, y') = 1 + |y - y'|`` (the released code's
    ``use_weight=True, distance='L1_inv'``: far targets push harder; ``distance_weight=False``:
    ``w = 1``). ``L = mean_a L_a``; an anchor without positives (V = 1, a unique target and no
    bracketing pair) adds 0 but counts in the mean, as in SupCon.

    Source of the formula: the pairs as the paper defines them; the method section's
    equations were not in the stored copies we could read, so the loss's form (SupCon's
    log-likelihood over the positives, the distance weights, the window) follows the authors'
    released code (``supremix_loss.SupConLoss_v2`` and ``mixing_func`` of yilei-wu/SupReMix).
    Where a choice is open, the released code's defaults: ``temperature=0.3``,
    ``positive_window=5`` (target units; its ``--n 5``, in years of age), Beta(2, 8) for the
    anchor's share of a hard negative (``NEGATIVE_MIX_BETA``; drawn by the caller, so the loss
    stays pure), mixtures not re-normalized, every view of both augmentations mixed. One
    deliberate difference: the released code shifts the mixtures' logits by their own row
    maximum before concatenating them with the others, which changes the loss; here ``Z_a`` is
    one exact log-sum-exp over all terms.

    The similarity to a mixture is the mixture of similarities (the mixtures are not
    re-normalized), so no mixture embedding is formed: memory O(N B V) for the hard negatives
    and O(N (B V)^2) for the hard positives (anchor x pair), e.g. 2M floats at B = 64, V = 2.

    Args:
      features: [B, V, D] V views of B examples.
      targets: [B] float regression targets (in the units ``positive_window`` is given in).
      negative_mix: [B, V, N] the anchor's share ``l`` of the mixture of anchor view (b, v)
        with every view of the global batch, example-major (view k = example k // V, view
        k % V); N = B V on one device, the global count inside ``shard_map``. Entries for
        views of the anchor's own target are unused.
      temperature: logits are ``s / temperature`` (default 0.3).
      positive_window: hard positives mix only views whose targets are within this distance
        of the anchor's (default 5.0; ``jnp.inf``: no limit).
      distance_weight: weight the terms of ``Z_a`` by ``1 + |y_a - y_x|`` (default True).
      normalize: L2-normalize the views first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; the views and targets of every device
        are contrasted and mixed. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the B V (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.7, 0.7], [0.1, 0.9]])
      >>> features = jnp.stack([z1, z2], axis=1)  # [3, 2, 2]
      >>> targets = jnp.array([0.0, 1.0, 2.0])
      >>> mix = jnp.full((3, 2, 6), 0.2)
      >>> loss = losses.supremix(features, targets, mix, temperature=0.5)
      >>> print(f"{float(loss):.4f}")
      2.3922

    Paper: "Mixup Your Own Pairs" (SupReMix), Wu, Dong, Chen, Zhou and Zhou, 2023.
    """
    local, views = features.shape[0], features.shape[1]
    if targets.shape != (local,):
        raise ValueError(f"supremix: targets must be [B] = [{local}], got {targets.shape}.")
    anchors = _common.prepare(features, normalize).reshape(local * views, -1)
    keys = _common.gather_rows(anchors, axis_name)
    count = keys.shape[0]
    if negative_mix.shape != (local, views, count):
        raise ValueError(f"supremix: negative_mix must be [B, V, N] = [{local}, {views}, "
                         f"{count}] (N: every view of the global batch), got "
                         f"{negative_mix.shape}.")
    dtype = anchors.dtype
    if count == 1:  # a single view of a single example: nothing to contrast
        return jnp.zeros((), dtype)
    y_a = jnp.repeat(targets.astype(dtype), views)  # [n]
    y_k = _common.gather_rows(y_a, axis_name)  # [N]
    lam = jax.lax.stop_gradient(negative_mix.astype(dtype).reshape(local * views, count))
    self_index = _common.row_offset(local * views, axis_name) + jnp.arange(local * views)
    not_self = jnp.arange(count)[None, :] != self_index[:, None]  # [n, N]

    sim = anchors @ keys.T  # [n, N]
    gap = jnp.abs(y_a[:, None] - y_k[None, :])  # [n, N]
    same = (gap == 0) & not_self
    weight = lambda distance: jnp.log1p(distance) if distance_weight else jnp.zeros_like(distance)
    # real views: logits and log-weights
    real = sim / temperature
    real_terms = jnp.where(not_self, real + weight(gap), -jnp.inf)
    # hard negatives: l z_a + (1 - l) z_k, target gap (1 - l) |y_a - y_k|
    self_sim = jnp.sum(anchors * anchors, axis=-1)[:, None]
    negative = (lam * self_sim + (1 - lam) * sim) / temperature
    negative_terms = jnp.where(not_self & ~same, negative + weight((1 - lam) * gap), -jnp.inf)
    # hard positives: l z_j + (1 - l) z_k with y_j < y_a < y_k, target y_a (weight 1)
    below = (y_k[None, :] < y_a[:, None]) & (gap < positive_window)  # [n, N] j
    above = (y_k[None, :] > y_a[:, None]) & (gap < positive_window)  # [n, N] k
    pair = below[:, :, None] & above[:, None, :]  # [n, j, k]
    span = y_k[None, None, :] - y_k[None, :, None]  # y_k - y_j
    share = jnp.where(pair, (y_k[None, None, :] - y_a[:, None, None])
                      / jnp.where(pair, span, 1.0), 0.0)
    positive = (share * sim[:, :, None] + (1 - share) * sim[:, None, :]) / temperature
    positive_terms = jnp.where(pair, positive, -jnp.inf).reshape(local * views, -1)

    log_z = jax.nn.logsumexp(
        jnp.concatenate([real_terms, negative_terms, positive_terms], axis=1), axis=1)
    positive_sum = (jnp.sum(jnp.where(same, real, 0.0), axis=1)
                    + jnp.sum(jnp.where(pair, positive, 0.0), axis=(1, 2)))
    positive_count = jax.lax.stop_gradient(
        jnp.sum(same, axis=1) + jnp.sum(pair, axis=(1, 2))).astype(dtype)
    mean_log_prob = (positive_sum - positive_count * log_z) / jnp.maximum(positive_count, 1)
    return _common.global_mean(jnp.mean(-mean_log_prob), axis_name)
