"""SogCLR and iSogCLR: the global contrastive loss with per-example moving-average estimators.

Both optimize, over the whole data set D, ``F = 1/n sum_i tau_i log E_{z in S_i^-} exp(h_i(z) /
tau_i)`` with ``h_i(z) = s(a_i, z) - s(a_i, p_i)`` (anchor a_i, its positive p_i, cosines s).
The inner expectation over *all* negatives of the data set is tracked per example by a moving
average ``u_i <- (1 - gamma) u_i + gamma g_i(batch)`` of its mini-batch estimate ``g_i = mean_{z
in batch negatives} exp(s(a_i, z) / tau_i)``, so small batches do not bias the gradient. The
estimators are inputs and outputs here (the method keeps them, indexed by the example's dataset
index); they are carried as ``log u`` so that temperatures down to 0.01 (``exp(1/0.01)``
overflows float32) stay finite. ``log u = -inf`` marks an example not seen yet: its first
estimate is the batch's own ``g_i`` (the official code starts from the batch estimate, for a
batch whose entries are all unset).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def _global_contrastive(z1, z2, log_u, tau, *, gamma, normalize, axis_name):
    """The shared step of SogCLR / iSogCLR for the local anchors ``[z1; z2]``.

    Returns ``(loss, log_u_views [2, b], mean_scaled [2, b], log_u_new [b])``: the surrogate
    loss whose gradient is the SogCLR gradient estimator, each view's updated ``log u``, each
    view's weighted mean of ``s / tau`` over its negatives (for the temperature gradient) and the
    stored estimator ``log((u1 + u2) / 2)``.
    """
    a1, a2 = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
    local = a1.shape[0]
    total = _common.global_count(local, axis_name)
    num_negatives = 2 * (total - 1)
    k1, k2 = _common.gather_rows(a1, axis_name), _common.gather_rows(a2, axis_name)
    rows = _common.row_offset(local, axis_name) + jnp.arange(local)
    cols = jnp.arange(total)
    other = cols[None, :] == rows[:, None]  # [b, B]: the anchor's own example
    # Anchor z1_i: its positive is z2_i (first block), itself is z1_i (second block); the
    # 2(B - 1) others are the negatives. Likewise for z2_i with the blocks swapped.
    sims = jnp.stack([jnp.concatenate([a1 @ k2.T, a1 @ k1.T], axis=1),
                      jnp.concatenate([a2 @ k1.T, a2 @ k2.T], axis=1)])  # [2, b, 2B]
    negative = ~jnp.concatenate([other, other], axis=1)  # [b, 2B]
    positive = jnp.stack([jnp.sum(a1 * a2, axis=-1)] * 2)  # [2, b]
    tau = jnp.broadcast_to(jnp.asarray(tau, sims.dtype), (local,))
    log_u = jnp.asarray(log_u, sims.dtype)
    if num_negatives == 0:  # a global batch of one: no negatives, only the alignment term
        loss = _common.global_mean(jnp.mean(-2.0 * positive[0]), axis_name)
        zeros = jnp.zeros_like(positive)
        return loss, jnp.stack([log_u, log_u]), zeros, log_u
    scaled = jax.lax.stop_gradient(sims) / tau[None, :, None]
    log_g = (jax.nn.logsumexp(jnp.where(negative, scaled, -jnp.inf), axis=-1)
             - math.log(num_negatives))  # [2, b]
    seen = jnp.isfinite(log_u)
    averaged = jnp.logaddexp(jnp.log1p(-gamma) + log_u, math.log(gamma) + log_g) if gamma < 1 \
        else log_g
    log_u_views = jnp.where(seen, averaged, log_g)
    weights = jnp.where(negative, jnp.exp(scaled - log_u_views[..., None]), 0.0)
    weights = jax.lax.stop_gradient(weights)
    per_anchor = -positive + jnp.sum(weights * sims, axis=-1) / num_negatives
    loss = _common.global_mean(jnp.mean(jnp.sum(per_anchor, axis=0)), axis_name)
    mean_scaled = jnp.sum(weights * scaled, axis=-1) / num_negatives
    log_u_new = jnp.logaddexp(log_u_views[0], log_u_views[1]) - math.log(2.0)
    return loss, log_u_views, mean_scaled, jax.lax.stop_gradient(log_u_new)


def sogclr(z1: jax.Array, z2: jax.Array, log_u: jax.Array, *, temperature: float = 0.1,
           gamma: float = 0.9, normalize: bool = True,
           axis_name: str | None = None) -> tuple[jax.Array, jax.Array]:
    """SogCLR's loss and its updated per-example estimators ``log u``.

    For each anchor ``a`` of example i (both views) with negatives ``N_a`` (the other 2(B - 1)
    views of the batch): ``g_a = mean_{k in N_a} exp(s(a, k) / t)``, ``u_a = (1 - gamma) u_i +
    gamma g_a`` (``u_a = g_a`` the first time), and the loss is
    ``L = mean_i sum_{a in views(i)} [ -s(a, p_a) + mean_{k in N_a} sg(exp(s(a, k) / t) / u_a)
    s(a, k) ]``, ``sg`` the stop-gradient. Its gradient is the SogCLR estimator of the gradient
    of the global objective ``t log E exp((s(a, k) - s(a, p_a)) / t)``; the stored estimator is
    ``u_i = (u_{a1} + u_{a2}) / 2``. The value is this surrogate, as in the official code
    (cosines, not divided by t; summed over the two views).

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      log_u: [B] the examples' ``log u_i`` before this step; ``-inf`` for an unseen example.
      temperature: the temperature t (default 0.1, the official code's).
      gamma: weight of the batch estimate in the moving average (default 0.9).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the views of every device are negatives
        and ``log_u`` holds this device's examples. None (default): one device.

    Returns:
      ``(loss, log_u_new)``: the scalar float32 loss (the mean over the global batch) and the
      examples' updated ``log u`` [B] (stop-gradient). With B = 1 there are no negatives: the
      loss is ``-2 s(z1, z2)`` and ``log_u`` is returned unchanged.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> loss, log_u = losses.sogclr(z1, z2, jnp.full(3, -jnp.inf))
      >>> print(f"{float(loss):.4f}", log_u.shape)
      -0.4232 (3,)

    Papers: "Provable Stochastic Optimization for Global Contrastive Learning: Small Batch Does
    Not Harm Performance", Yuan et al., 2022 (ICML); defaults from the official LibAUC
    ``GCLoss_v1`` (tau 0.1, gamma 0.9).
    """
    loss, _, _, log_u_new = _global_contrastive(z1, z2, log_u, temperature, gamma=gamma,
                                                normalize=normalize, axis_name=axis_name)
    return loss, log_u_new


def isogclr(z1: jax.Array, z2: jax.Array, log_u: jax.Array, tau: jax.Array,
            tau_grad: jax.Array, *, gamma: float = 0.9, rho: float = 0.3, eta: float = 0.01,
            beta: float = 0.9, tau_min: float = 0.05, tau_max: float = 0.7,
            normalize: bool = True, axis_name: str | None = None
            ) -> tuple[jax.Array, tuple[jax.Array, jax.Array, jax.Array]]:
    """iSogCLR: SogCLR with individual temperatures learned from the DRO objective.

    The robust global contrastive objective ``min_{w, tau} 1/n sum_i [tau_i log E exp(h_i /
    tau_i) + tau_i rho]`` (rho: the KL-ball radius). The loss is SogCLR's (``sogclr``) with each
    example's own ``tau_i``; the temperature takes a momentum step on its stochastic gradient
    ``G_a = log u_a + rho - mean_{k in N_a} sg(exp(s(a, k) / tau_i) / u_a) s(a, k) / tau_i``
    (averaged over the two views): ``m_i <- (1 - beta) m_i + beta G_i``,
    ``tau_i <- clip(tau_i - eta m_i, tau_min, tau_max)``. The update uses this step's ``u_a``
    and no 1/n factor, as the official code does.

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      log_u: [B] the examples' ``log u_i``; ``-inf`` for an unseen example.
      tau: [B] the examples' temperatures ``tau_i`` (start: 0.1 in the official code).
      tau_grad: [B] the momentum ``m_i`` of their gradients (start: 0).
      gamma: weight of the batch estimate in the ``u`` moving average (default 0.9).
      rho: the DRO radius (default 0.3, the official unimodal default).
      eta: the temperatures' step size (default 0.01).
      beta: weight of the new gradient in the momentum (default 0.9).
      tau_min: lower bound of the temperatures (default 0.05).
      tau_max: upper bound of the temperatures (default 0.7).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the views of every device are negatives
        and the per-example arrays hold this device's examples. None (default): one device.

    Returns:
      ``(loss, (log_u_new, tau_new, tau_grad_new))``: the scalar float32 loss (the mean over
      the global batch) and the examples' updated [B] arrays (stop-gradient). With B = 1 the
      loss is ``-2 s(z1, z2)`` and the arrays are returned unchanged.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> loss, (log_u, tau, m) = losses.isogclr(z1, z2, jnp.full(3, -jnp.inf),
      ...                                        jnp.full(3, 0.1), jnp.zeros(3))
      >>> print(", ".join(f"{t:.4f}" for t in tau.tolist()))
      0.1034, 0.1035, 0.0989

    Papers: "Not All Semantics are Created Equal: Contrastive Self-supervised Learning with
    Automatic Temperature Individualization", Qiu et al., 2023 (ICML); defaults from the
    official LibAUC ``GCLoss_v1(enable_isogclr=True)``.
    """
    loss, log_u_views, mean_scaled, log_u_new = _global_contrastive(
        z1, z2, log_u, tau, gamma=gamma, normalize=normalize, axis_name=axis_name)
    if _common.global_count(z1.shape[0], axis_name) == 1:
        return loss, (log_u_new, tau, tau_grad)
    grad = jnp.mean(log_u_views + rho - mean_scaled, axis=0)
    tau_grad_new = (1.0 - beta) * tau_grad + beta * grad
    tau_new = jnp.clip(tau - eta * tau_grad_new, tau_min, tau_max)
    return loss, jax.lax.stop_gradient((log_u_new, tau_new, tau_grad_new))
