"""Adaptive multi-head contrastive learning (AMCL): per-head, per-pair adaptive temperatures with
a temperature regularizer, on SimCLR's two-view batch."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def amcl_temperature(phi_a: jax.Array, phi_b: jax.Array, *, tau_min: float = 1e-5,
                     tau_max: float = 2.0) -> jax.Array:
    """AMCL's pair temperature ``tau = tau_min + (tau_max - tau_min) sigmoid(-phi_a . phi_b)``.

    The paper's ``sigma(r) = iota / (1 + exp(r)) + eta`` with ``r`` the inner product of the
    shared temperature network's outputs; similar pairs (large ``r``) get low temperatures.

    Args:
      phi_a: [..., E] temperature-network outputs of the first elements.
      phi_b: [..., E] outputs of the second elements (same shape: for all pairs of two sets,
        ``losses.amcl`` contracts them with ``einsum``).
      tau_min: eta, the lowest temperature (default 1e-5).
      tau_max: eta + iota, the highest temperature (default 2.0).

    Returns:
      [...] temperatures in ``(tau_min, tau_max)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> print(losses.amcl_temperature(jnp.zeros(3), jnp.ones(3), tau_min=0.0, tau_max=2.0))
      1.0
    """
    r = jnp.sum(_common.upcast(phi_a) * _common.upcast(phi_b), axis=-1)
    return _score_to_temperature(r, tau_min, tau_max)


def _score_to_temperature(r, tau_min, tau_max):
    return tau_min + (tau_max - tau_min) * jax.nn.sigmoid(-r)


def amcl(z1: jax.Array, z2: jax.Array, phi1: jax.Array, phi2: jax.Array, *,
         beta: float = 0.01, tau_min: float = 1e-5, tau_max: float = 2.0, top_k: int = 100,
         normalize: bool = True, axis_name: str | None = None) -> jax.Array:
    """AMCL's SimCLR loss: C projection heads, every pair scaled by its own temperature.

    For head c and each of the 2B anchors ``a`` of ``[z1; z2]`` with positive ``p`` (its other
    view) and negatives ``N(a)`` (the other 2B - 2 views), ``s`` the cosine similarity and
    ``tau_ab = amcl_temperature(phi_a, phi_b)``:

    ``l_a = -s_ap / tau_ap + mean_{n in K(a)} s_an / tau_an + beta Omega(tau_ap)
    - beta sum_{n in K(a)} (log tau_an + 1 / tau_an)``, ``Omega(tau) = D/2 log tau + 1/tau``,

    with ``K(a)`` the ``top_k`` most similar negatives (the paper's top-k approximation of the
    negative term) and D the projection dimension; ``L = sum_c mean_a l_a``.

    The form, signs and defaults are the released code's (``LeiWangR/cl``, ``amcl/losses.py``:
    ``AMCLNTXentLoss`` with ``omega`` and ``TemperatureHead``; beta 0.01, tau in (1e-5, 2),
    top_k 100, which cite the paper's Eq. (2.1), (3) and (5)); the paper's own text was not
    reachable from here. ``Omega`` is the Gaussian normalizer of the maximum-likelihood view:
    ``-s/tau + Omega(tau)`` is ``||z_a - z_p||^2 / (2 tau) + D/2 log tau`` up to a constant for
    unit vectors. With B = 1 there are no negatives and their terms are 0. The top-k selection
    is not a softmax, so there is no blockwise (``block_size``) form.

    Args:
      z1: [C, B, D] the C heads' projections of the first views.
      z2: [C, B, D] the C heads' projections of the second views.
      phi1: [C, B, E] the temperature network's outputs for z1 (applied to the unit z1).
      phi2: [C, B, E] the temperature network's outputs for z2.
      beta: weight of the temperature regularizer (default 0.01).
      tau_min: lowest temperature (default 1e-5).
      tau_max: highest temperature (default 2.0).
      top_k: negatives per anchor kept in the negative term (default 100).
      normalize: L2-normalize z1 and z2 first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the views of every device are negatives.
        None (default): one device.

    Returns:
      Scalar float32 loss, summed over heads, the mean over the 2B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
      >>> z2 = jnp.array([[[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]]])
      >>> phi = jnp.zeros((1, 3, 4))
      >>> print(f"{float(losses.amcl(z1, z2, phi, phi, tau_min=0.0, tau_max=0.2)):.4f}")
      -4.4332

    Paper: "Adaptive Multi-head Contrastive Learning", Wang et al., 2023 (ECCV 2024).
    """
    a1, a2 = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
    p1, p2 = _common.upcast(phi1), _common.upcast(phi2)
    dim, local = a1.shape[-1], a1.shape[1]
    total = _common.global_count(local, axis_name)
    anchors = jnp.concatenate([a1, a2], axis=1)  # [C, 2b, D]
    anchor_phi = jnp.concatenate([p1, p2], axis=1)
    keys = jnp.concatenate([_common.gather_rows(a1, axis_name, axis=1),
                            _common.gather_rows(a2, axis_name, axis=1)], axis=1)  # [C, 2B, D]
    key_phi = jnp.concatenate([_common.gather_rows(p1, axis_name, axis=1),
                               _common.gather_rows(p2, axis_name, axis=1)], axis=1)
    rows = _common.row_offset(local, axis_name) + jnp.arange(local)
    self_col = jnp.concatenate([rows, rows + total])
    positive_col = jnp.concatenate([rows + total, rows])

    positive = jnp.sum(anchors * jnp.concatenate([a2, a1], axis=1), -1)  # [C, 2b]
    tau_positive = amcl_temperature(anchor_phi, jnp.concatenate([p2, p1], axis=1),
                                    tau_min=tau_min, tau_max=tau_max)
    per_anchor = -positive / tau_positive + beta * (
        dim / 2 * jnp.log(tau_positive) + 1 / tau_positive)

    k = min(top_k, 2 * total - 2)
    if k > 0:
        similarity = jnp.einsum("cad,ckd->cak", anchors, keys)  # [C, 2b, 2B]
        # All pairs with a contraction: under jax.jit on CPU (jax 0.10.2), the broadcast
        # product-and-sum form sum(a[:, :, None] * b[:, None], -1) of [1, 32, 16] inputs was
        # miscompiled (wrong values); einsum lowers to a dot_general.
        scores = jnp.einsum("cae,cke->cak", anchor_phi, key_phi)
        tau = _score_to_temperature(scores, tau_min, tau_max)
        cols = jnp.arange(2 * total)
        negative = (cols != self_col[:, None]) & (cols != positive_col[:, None])  # [2b, 2B]
        _, top = jax.lax.top_k(jnp.where(negative, jax.lax.stop_gradient(similarity), -jnp.inf),
                               k)
        s_top = jnp.take_along_axis(similarity, top, axis=-1)
        tau_top = jnp.take_along_axis(tau, top, axis=-1)
        per_anchor += jnp.mean(s_top / tau_top, -1) - beta * jnp.sum(
            jnp.log(tau_top) + 1 / tau_top, -1)
    return _common.global_mean(jnp.sum(jnp.mean(per_anchor, axis=-1)), axis_name)
