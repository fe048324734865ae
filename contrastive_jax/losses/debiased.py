"""Debiased contrastive loss and its hard-negative (importance-weighted) extension.

Both follow the reference implementations: SimCLR's 2B anchors, N = 2B - 2 negatives per anchor,
and a negative-sum estimator

    Ng = max( (-N tau+ pos + R) / (1 - tau+),  N e^{-1/t} ),   loss = -log( pos / (pos + Ng) )

with ``pos = exp(s(a, pos(a))/t)`` and ``R = N * sum_n w_n exp(s(a, n)/t)``, where
``w_n = exp(beta s_n / t) / sum_m exp(beta s_m / t)`` (so ``N w_n`` has mean 1 over the negatives;
beta = 0 gives ``R = sum_n exp(s_n / t)``, the debiased estimator). Everything runs in log space,
shifted by the largest logit of each anchor, so t = 0.01 does not overflow.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def _debiased_loss(z1, z2, temperature, tau_plus, beta, normalize, axis_name):
    logits, self_mask, positive_mask = _common.two_view_logits(
        z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name)
    num_negatives = logits.shape[1] - 2
    if num_negatives == 0:  # B = 1: Ng = 0 and the loss is -log(pos / pos) = 0.
        return jnp.zeros((), logits.dtype)
    negative_mask = ~(self_mask | positive_mask)
    positive = _common.masked_select_sum(logits, positive_mask)
    # log R = log N + logsumexp((1 + beta) s / t) - logsumexp(beta s / t) over the negatives.
    log_r = (jnp.log(num_negatives)
             + _common.masked_logsumexp((1.0 + beta) * logits, negative_mask)
             - _common.masked_logsumexp(beta * logits, negative_mask))
    shift = jax.lax.stop_gradient(
        jnp.maximum(positive, jnp.max(jnp.where(negative_mask, logits, -jnp.inf), axis=1)))
    pos = jnp.exp(positive - shift)
    estimate = (jnp.exp(log_r - shift) - num_negatives * tau_plus * pos) / (1.0 - tau_plus)
    floor = num_negatives * jnp.exp(-1.0 / temperature - shift)
    negative_sum = jnp.maximum(estimate, floor)
    per_anchor = jnp.log(pos + negative_sum) + shift - positive
    return _common.global_mean(jnp.mean(per_anchor), axis_name)


def debiased_info_nce(z1: jax.Array, z2: jax.Array, *, temperature: float = 0.5,
                      tau_plus: float = 0.1, normalize: bool = True,
                      axis_name: str | None = None) -> jax.Array:
    """Debiased contrastive loss: corrects the negative sum for same-class "negatives".

    ``L = mean_a -log( pos / (pos + Ng) )``, ``Ng = max((-N tau+ pos + sum_n neg_n) / (1 - tau+),
    N e^{-1/t})``, ``pos = exp(s(a, pos(a))/t)``, ``neg_n = exp(s(a, n)/t)``, N = 2B - 2 negatives,
    over the 2B anchors of ``[z1; z2]`` (symmetric, as the reference code). The clamp
    ``N e^{-1/t}`` is the smallest value of the true sum on the sphere. B = 1: no negatives,
    Ng = 0, loss 0.

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      temperature: logits are ``cos / temperature`` (default 0.5).
      tau_plus: class prior tau+, the probability that a negative shares the anchor's class
        (default 0.1).
      normalize: L2-normalize the inputs first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; negatives from all devices (N counts the global batch). None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the 2B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.debiased_info_nce(z1, z2)):.4f}")
      0.9998

    Paper: "Debiased Contrastive Learning", Chuang et al., 2020 (NeurIPS).
    """
    return _debiased_loss(z1, z2, temperature, tau_plus, 0.0, normalize, axis_name)


def hard_negative_info_nce(z1: jax.Array, z2: jax.Array, *, temperature: float = 0.5,
                           tau_plus: float = 0.1, beta: float = 1.0, normalize: bool = True,
                           axis_name: str | None = None) -> jax.Array:
    """Hard-negative contrastive loss: the debiased loss with negatives importance-weighted.

    As ``debiased_info_nce`` with ``sum_n neg_n`` replaced by ``N * sum_n w_n neg_n``,
    ``w_n = exp(beta s(a, n)/t) / sum_m exp(beta s(a, m)/t)`` (i.e. weights
    ``exp(beta s/t)`` normalized to mean 1 over the N = 2B - 2 negatives); harder (more similar)
    negatives weigh more. As in the reference code the weights are not stop-gradient.
    ``beta = 0`` recovers ``debiased_info_nce``; ``tau_plus = 0`` drops the debiasing. B = 1
    gives 0.

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      temperature: logits are ``cos / temperature`` (default 0.5).
      tau_plus: class prior tau+ (default 0.1; 0 turns the debiasing off).
      beta: concentration of the importance weights on hard negatives (default 1.0).
      normalize: L2-normalize the inputs first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; negatives from all devices. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the 2B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.hard_negative_info_nce(z1, z2)):.4f}")
      1.1335

    Paper: "Contrastive Learning with Hard Negative Samples", Robinson et al., 2021 (ICLR).
    """
    return _debiased_loss(z1, z2, temperature, tau_plus, beta, normalize, axis_name)
