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
    is not a softmax, so there is no blockwise (``block_size``) form. Note that ``(beta - s) /
    tau`` falls as ``tau -> tau_min`` whenever ``s > beta``, so only ``tau_min`` bounds the loss
    below: in a 100-step mnist5k run (configs/simclr_amcl.py, tau_min 0.05) the mean positive
    temperature sat at the floor (0.050) by the end.

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
    local = a1.shape[1]
    total = _common.global_count(local, axis_name)
    keys = jnp.concatenate([_common.gather_rows(a1, axis_name, axis=1),
                            _common.gather_rows(a2, axis_name, axis=1)], axis=1)  # [C, 2B, D]
    key_phi = jnp.concatenate([_common.gather_rows(p1, axis_name, axis=1),
                               _common.gather_rows(p2, axis_name, axis=1)], axis=1)
    rows = _common.row_offset(local, axis_name) + jnp.arange(local)
    self_col = jnp.concatenate([rows, rows + total])
    positive_col = jnp.concatenate([rows + total, rows])
    cols = jnp.arange(2 * total)
    negative = (cols != self_col[:, None]) & (cols != positive_col[:, None])  # [2b, 2B]
    per_anchor = _per_anchor(
        jnp.concatenate([a1, a2], axis=1), jnp.concatenate([p1, p2], axis=1),
        jnp.concatenate([a2, a1], axis=1), jnp.concatenate([p2, p1], axis=1), keys, key_phi,
        negative, min(top_k, 2 * total - 2), beta=beta, tau_min=tau_min, tau_max=tau_max)
    return _common.global_mean(jnp.sum(jnp.mean(per_anchor, axis=-1)), axis_name)


def _per_anchor(anchors, anchor_phi, positives, positive_phi, keys, key_phi, negative, k, *,
                beta, tau_min, tau_max):
    """``l_a`` of ``amcl`` for unit anchors / positives [C, n, D] against unit keys [C, m, D];
    ``negative`` [n, m] marks each anchor's negatives, ``k`` how many of them count."""
    dim = anchors.shape[-1]
    positive = jnp.sum(anchors * positives, -1)  # [C, n]
    tau_positive = amcl_temperature(anchor_phi, positive_phi, tau_min=tau_min, tau_max=tau_max)
    per_anchor = -positive / tau_positive + beta * (
        dim / 2 * jnp.log(tau_positive) + 1 / tau_positive)
    if k <= 0:
        return per_anchor
    similarity = jnp.einsum("cad,ckd->cak", anchors, keys)  # [C, n, m]
    # All pairs with a contraction: under jax.jit on CPU (jax 0.10.2), the broadcast
    # product-and-sum form sum(a[:, :, None] * b[:, None], -1) of [1, 32, 16] inputs was
    # miscompiled (wrong values); einsum lowers to a dot_general.
    tau = _score_to_temperature(jnp.einsum("cae,cke->cak", anchor_phi, key_phi),
                                tau_min, tau_max)
    _, top = jax.lax.top_k(jnp.where(negative, jax.lax.stop_gradient(similarity), -jnp.inf), k)
    s_top = jnp.take_along_axis(similarity, top, axis=-1)
    tau_top = jnp.take_along_axis(tau, top, axis=-1)
    return per_anchor + jnp.mean(s_top / tau_top, -1) - beta * jnp.sum(
        jnp.log(tau_top) + 1 / tau_top, -1)


def amcl_info_nce(query: jax.Array, key: jax.Array, phi_query: jax.Array, phi_key: jax.Array,
                  *, beta: float = 0.01, tau_min: float = 1e-5, tau_max: float = 2.0,
                  top_k: int = 100, normalize: bool = True, axis_name: str | None = None
                  ) -> jax.Array:
    """AMCL's query-key form (MoCo v3's in-batch InfoNCE): ``amcl``'s per-anchor term with the
    queries as anchors, their own keys as positives and the other keys as negatives.

    ``l_i = -s(q_i, k_i) / tau_ii + mean_{j in K(i)} s(q_i, k_j) / tau_ij + beta Omega(tau_ii)
    - beta sum_{j in K(i)} (log tau_ij + 1 / tau_ij)``, ``K(i)`` the ``top_k`` keys j != i most
    similar to ``q_i``, ``tau_ij = amcl_temperature(phi_q_i, phi_k_j)``; ``L = sum_c mean_i
    l_i``. The released code applies the same per-anchor term to MoCo with a queue of negatives
    (``AMCLMoCoLoss``, averaging the two query/key directions); here the negatives are the
    batch's other keys, as in MoCo v3. With B = 1 only the positive terms remain.

    Args:
      query: [C, B, D] the C heads' queries (the online predictor's outputs in MoCo v3).
      key: [C, B, D] the heads' keys (the momentum encoder's projections).
      phi_query: [C, B, E] the temperature network's outputs for the unit queries.
      phi_key: [C, B, E] the temperature network's outputs for the unit keys.
      beta: weight of the temperature regularizer (default 0.01).
      tau_min: lowest temperature (default 1e-5).
      tau_max: highest temperature (default 2.0).
      top_k: negatives per query kept in the negative term (default 100).
      normalize: L2-normalize query and key first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the keys of every device are negatives.
        None (default): one device.

    Returns:
      Scalar float32 loss, summed over heads, the mean over the B (global) queries.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> q = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
      >>> k = jnp.array([[[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]]])
      >>> phi = jnp.zeros((1, 3, 4))
      >>> print(f"{float(losses.amcl_info_nce(q, k, phi, phi, tau_min=0.0, tau_max=0.2)):.4f}")
      -4.2798

    Paper: "Adaptive Multi-head Contrastive Learning", Wang et al., 2023 (ECCV 2024).
    """
    q, k = _common.prepare(query, normalize), _common.prepare(key, normalize)
    pq, pk = _common.upcast(phi_query), _common.upcast(phi_key)
    local = q.shape[1]
    total = _common.global_count(local, axis_name)
    rows = _common.row_offset(local, axis_name) + jnp.arange(local)
    negative = jnp.arange(total)[None, :] != rows[:, None]  # [b, B]
    per_anchor = _per_anchor(
        q, pq, k, pk, _common.gather_rows(k, axis_name, axis=1),
        _common.gather_rows(pk, axis_name, axis=1), negative, min(top_k, total - 1),
        beta=beta, tau_min=tau_min, tau_max=tau_max)
    return _common.global_mean(jnp.sum(jnp.mean(per_anchor, axis=-1)), axis_name)
