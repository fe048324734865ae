"""Decoupled contrastive learning: NT-Xent without the positive in the denominator (DCL), and its
von Mises-Fisher weighted form (DCLW)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity


def _decoupled(z1, z2, temperature, normalize, axis_name, positive_weight_fn, block_size,
               cross_device):
    num_negatives = 2 * _common.global_count(z1.shape[0], axis_name) - 2
    lse, positive = similarity.two_view_statistics(
        z1, z2, temperature=temperature, normalize=normalize, axis_name=axis_name,
        block_size=block_size, cross_device=cross_device, exclude_positive=True)
    if positive_weight_fn is not None:
        positive = positive * positive_weight_fn()
    # B = 1: no negatives (the log-sum-exp is over nothing), only the alignment term remains.
    per_anchor = -positive if num_negatives == 0 else lse - positive
    return _common.global_mean(jnp.mean(per_anchor), axis_name)


def dcl(z1: jax.Array, z2: jax.Array, *, temperature: float = 0.1, normalize: bool = True,
        axis_name: str | None = None, block_size: int | None = None,
        cross_device: str = "ring") -> jax.Array:
    """Decoupled Contrastive Learning loss: NT-Xent with the positive removed from the denominator.

    ``L = mean_a [ -s(a, pos(a)) / t + log sum_{k not in {a, pos(a)}} exp(s(a, k) / t) ]`` over the
    2B anchors ``a`` of ``[z1; z2]`` (symmetric in the two views). This is the mean over the 2B
    anchors, i.e. half of the reference code's ``loss(z1, z2) + loss(z2, z1)``. With B = 1 there
    are no negatives and the loss is the alignment term ``-s(z1, z2) / t`` alone.

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      temperature: logits are ``cos / temperature`` (default 0.1).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the examples of every device are
        candidates. None (default): one device.
      block_size: None (default): dense logits; an int: the exact memory-efficient form
        (``softmax_statistics``), O(B D + B block_size) memory, same value and gradients.
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default: a ring of
        ``ppermute`` steps) or ``"all_gather"``.

    Returns:
      Scalar float32 loss, the mean over the 2B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.dcl(z1, z2)):.4f}")
      -1.2423

    Paper: "Decoupled Contrastive Learning", Yeh et al., 2022 (ECCV).
    """
    return _decoupled(z1, z2, temperature, normalize, axis_name, None, block_size, cross_device)


def dclw(z1: jax.Array, z2: jax.Array, *, temperature: float = 0.1, sigma: float = 0.5,
         normalize: bool = True, axis_name: str | None = None, block_size: int | None = None,
         cross_device: str = "ring") -> jax.Array:
    """DCLW: DCL whose positive term is weighted by the negative von Mises-Fisher weight

    ``w_i = 2 - B * exp(s_i / sigma) / sum_j exp(s_j / sigma)`` with ``s_i = cos(z1_i, z2_i)``;
    ``L = mean_a [ -w_i(a) * s(a, pos(a)) / t + log sum_{k not in {a, pos(a)}} exp(s(a, k) / t) ]``.

    The weights (mean 1 over the batch; easy positives weigh less) are NOT stop-gradient, as in
    the reference implementation linked from the paper: gradients flow through the softmax. Both
    views of example i share ``w_i``. With ``axis_name`` the softmax runs over the global batch.
    B = 1 gives ``w = 1`` and ``-s(z1, z2) / t``.

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      temperature: logits are ``cos / temperature`` (default 0.1).
      sigma: temperature of the weights' softmax (default 0.5).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the examples of every device are
        candidates. None (default): one device.
      block_size: None (default): dense logits; an int: the exact memory-efficient form
        (``softmax_statistics``), O(B D + B block_size) memory, same value and gradients.
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default: a ring of
        ``ppermute`` steps) or ``"all_gather"``.

    Returns:
      Scalar float32 loss, the mean over the 2B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.dclw(z1, z2)):.4f}")
      -1.2392

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
