"""Decoupled contrastive learning: NT-Xent without the positive in the denominator (DCL), and its
von Mises-Fisher weighted form (DCLW)."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common
from contrastive_jax.losses.infonce import two_view_statistics


def _blockwise_decoupled(z1, z2, temperature, normalize, axis_name, positive_weight_fn,
                         block_size, cross_device):
    num_negatives = 2 * _common.global_count(z1.shape[0], axis_name) - 2
    lse, positive = two_view_statistics(
        z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name,
        block_size=block_size, cross_device=cross_device, exclude_positive=True)
    if positive_weight_fn is not None:
        positive = positive * positive_weight_fn()
    per_anchor = -positive if num_negatives == 0 else lse - positive
    return _common.global_mean(jnp.mean(per_anchor), axis_name)


def _decoupled(z1, z2, temperature, normalize, axis_name, positive_weight_fn, block_size=None,
               cross_device="ring"):
    if block_size is not None:
        return _blockwise_decoupled(z1, z2, temperature, normalize, axis_name,
                                    positive_weight_fn, block_size, cross_device)
    logits, self_mask, positive_mask = _common.two_view_logits(
        z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name)
    positive = _common.masked_select_sum(logits, positive_mask)
    if positive_weight_fn is not None:
        positive = positive * positive_weight_fn()
    num_negatives = logits.shape[1] - 2
    if num_negatives == 0:  # B = 1: no negatives, only the alignment term remains.
        per_anchor = -positive
    else:
        per_anchor = _common.masked_logsumexp(logits, ~(self_mask | positive_mask)) - positive
    return _common.global_mean(jnp.mean(per_anchor), axis_name)


def dcl(z1, z2, *, temperature=0.1, normalize=True, axis_name=None, block_size=None,
        cross_device="ring"):
    """Decoupled Contrastive Learning loss: NT-Xent with the positive removed from the denominator.

    ``L = mean_a [ -s(a, pos(a)) / t + log sum_{k not in {a, pos(a)}} exp(s(a, k) / t) ]`` over the
    2B anchors ``a`` of ``[z1; z2]`` (symmetric in the two views).

    Shapes: z1, z2: [B, D]. Returns a scalar. This is the mean over the 2B anchors, i.e. half of
    the reference code's ``loss(z1, z2) + loss(z2, z1)``. With B = 1 there are no negatives and the
    loss is the alignment term ``-s(z1, z2) / t`` alone. ``axis_name``: negatives from all devices.
    ``block_size``: the exact memory-efficient form (``losses.blockwise``), O(B D + B block_size)
    memory; with ``axis_name`` a ring of ``ppermute`` steps or an all-gather (``cross_device``).

    Paper: "Decoupled Contrastive Learning", Yeh et al., 2022 (ECCV).
    """
    return _decoupled(z1, z2, temperature, normalize, axis_name, None, block_size, cross_device)


def dclw(z1, z2, *, temperature=0.1, sigma=0.5, normalize=True, axis_name=None,
         block_size=None, cross_device="ring"):
    """DCLW: DCL whose positive term is weighted by the negative von Mises-Fisher weight

    ``w_i = 2 - B * exp(s_i / sigma) / sum_j exp(s_j / sigma)`` with ``s_i = cos(z1_i, z2_i)``;
    ``L = mean_a [ -w_i(a) * s(a, pos(a)) / t + log sum_{k not in {a, pos(a)}} exp(s(a, k) / t) ]``.

    The weights (mean 1 over the batch; easy positives weigh less) are NOT stop-gradient, as in
    the reference implementation linked from the paper: gradients flow through the softmax. Both
    views of example i share ``w_i``. With ``axis_name`` the softmax runs over the global batch.

    Shapes: z1, z2: [B, D]. Returns a scalar. B = 1 gives ``w = 1`` and ``-s(z1, z2) / t``.
    ``block_size``, ``cross_device``: as in ``dcl`` (the weights are O(B) and computed as is).

    Paper: "Decoupled Contrastive Learning", Yeh et al., 2022 (ECCV).
    """
    def weights():
        a1, a2 = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
        scaled = jnp.sum(a1 * a2, axis=-1) / sigma
        all_scaled = _common.gather_rows(scaled, axis_name)
        w = 2.0 - all_scaled.shape[0] * jnp.exp(scaled - jax.nn.logsumexp(all_scaled))
        return jnp.concatenate([w, w])

    return _decoupled(z1, z2, temperature, normalize, axis_name, weights, block_size,
                      cross_device)
