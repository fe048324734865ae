"""TS2Vec's hierarchical contrastive loss: instance-wise and temporal terms over max-pooled
scales.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022, Sec. 3.2-3.3
(Eqs. 1-3, Algorithm 1) and the released ``models/losses.py``. For two views ``z1, z2: [B, T,
D]`` of the same steps (the crops' overlap), with dot-product similarities (no normalisation,
no temperature, as released):

* temporal, per example ``i`` and step ``t``: the anchor ``z1[i, t]`` against the other
  ``2T - 1`` steps of ``[z1[i]; z2[i]]``, positive ``z2[i, t]`` (and the same with the views
  swapped): ``l_temp(i, t) = -log softmax(...)[positive]``;
* instance-wise, per step ``t``: the anchor ``z1[i, t]`` against the other ``2B - 1`` rows of
  ``[z1[:, t]; z2[:, t]]``, positive ``z2[i, t]`` (and swapped);
* hierarchical: at scale ``k = 0, 1, ...`` both terms averaged over anchors, then both views
  max-pooled over time (kernel 2, stride 2, the odd last step dropped), until one step remains,
  where only the instance term is added. ``L = sum_k [alpha L_inst(k) + (1 - alpha) L_temp(k)
  [k >= temporal_unit]] / K`` with ``K`` the number of scales (``alpha = 0.5``).

Static shapes: ``length`` (a scalar, traced or not) says how many leading steps are real (the
crops' overlap, ``crop_l`` in TS2Vec); steps at or after it are ignored at every scale, so one
compiled step serves every crop length. ``axis_name``: the batch is sharded over that mesh
axis; the instance term's negatives come from every device (``all_gather``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from contrastive_jax.losses._common import gather_rows, global_count, global_mean, row_offset, upcast


def _valid_steps(length, size: int) -> jax.Array:
    return jnp.arange(size) < length


def instance_contrastive_terms(z1: jax.Array, z2: jax.Array, *, length: jax.Array | int | None = None,
                               axis_name: str | None = None) -> jax.Array:
    """Per-example instance-wise loss ``[b]`` (this device's examples): the mean over the valid
    steps ``t < length`` of ``(l(z1[i, t]) + l(z2[i, t])) / 2``, each anchor against the other
    ``2B - 1`` global rows at step ``t``. 0 for a global batch of one (TS2Vec's choice)."""
    z1, z2 = upcast(z1), upcast(z2)
    b, steps = z1.shape[:2]
    total = global_count(b, axis_name)
    if total == 1:
        return jnp.zeros((b,), z1.dtype)
    keys = jnp.concatenate([gather_rows(z1, axis_name), gather_rows(z2, axis_name)])  # [2N,T,D]
    anchors = jnp.concatenate([z1, z2])  # [2b, T, D]
    logits = jnp.einsum("atd,ktd->tak", anchors, keys)  # [T, 2b, 2N]
    own = row_offset(b, axis_name) + jnp.arange(b)
    self_index = jnp.concatenate([own, own + total])
    keep = jnp.arange(2 * total)[None, :] != self_index[:, None]  # [2b, 2N]
    lse = jax.nn.logsumexp(jnp.where(keep[None], logits, -jnp.inf), axis=-1)  # [T, 2b]
    positive = jnp.sum(z1 * z2, axis=-1).T  # [T, b]: the positive of both views' anchors
    per_anchor = lse - jnp.concatenate([positive, positive], axis=1)
    valid = _valid_steps(steps if length is None else length, steps)  # [T]
    count = jnp.maximum(valid.sum(), 1)
    per_anchor = jnp.where(valid[:, None], per_anchor, 0.0).sum(axis=0) / count  # [2b]
    return (per_anchor[:b] + per_anchor[b:]) / 2


def temporal_contrastive_terms(z1: jax.Array, z2: jax.Array, *,
                               length: jax.Array | int | None = None) -> jax.Array:
    """Per-example temporal loss ``[B]``: the mean over valid steps ``t`` of ``(l(z1[i, t]) +
    l(z2[i, t])) / 2``, each anchor against the other valid steps of both views of example
    ``i``. 0 when fewer than 2 steps are valid (TS2Vec's ``T == 1`` case)."""
    z1, z2 = upcast(z1), upcast(z2)
    steps = z1.shape[1]
    length = steps if length is None else length
    z = jnp.concatenate([z1, z2], axis=1)  # [B, 2T, D]
    logits = jnp.einsum("btd,bsd->bts", z, z)  # [B, 2T, 2T]
    valid = _valid_steps(length, steps)
    valid2 = jnp.concatenate([valid, valid])
    index = jnp.arange(2 * steps)
    keep = valid2[None, :] & (index[None, :] != index[:, None])  # [2T, 2T]
    lse = jax.nn.logsumexp(jnp.where(keep[None], logits, -jnp.inf), axis=-1)  # [B, 2T]
    positive = jnp.sum(z1 * z2, axis=-1)  # [B, T]
    per_anchor = jnp.where(valid2[None, :], lse - jnp.concatenate([positive, positive], axis=1),
                           0.0)
    count = jnp.maximum(valid.sum(), 1)
    terms = per_anchor.sum(axis=1) / (2 * count)
    return jnp.where(length >= 2, terms, 0.0)


def _max_pool(z: jax.Array) -> jax.Array:
    half = z.shape[1] // 2
    return jnp.maximum(z[:, 0:2 * half:2], z[:, 1:2 * half:2])


def hierarchical_contrastive_loss(z1: jax.Array, z2: jax.Array, *, alpha: float = 0.5,
                                  temporal_unit: int = 0, length: jax.Array | int | None = None,
                                  axis_name: str | None = None,
                                  per_example: bool = False) -> jax.Array:
    """TS2Vec's hierarchical contrastive loss (the module docstring gives the formula).

    Paper: Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022.

    Args:
      z1: [B, T, D] per-step representations of view 1 on the overlap (step ``t`` of both
        views is the same time stamp).
      z2: [B, T, D] the same steps in view 2.
      alpha: weight of the instance-wise term; ``1 - alpha`` for the temporal term (0.5).
      temporal_unit: the temporal term starts at scale ``temporal_unit`` (0: every scale).
      length: real steps (scalar, may be traced); None: all ``T``.
      axis_name: mesh axis the batch is sharded over inside ``jax.shard_map``, or None.
      per_example: return the ``[b]`` per-example losses whose mean is the loss (for
        per-pair reweighting, ``losses.dbpm``) instead of the scalar.

    Returns:
      Scalar float32 loss (the mean over the global batch), or ``[b]`` with ``per_example``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
      >>> print(f"{float(losses.hierarchical_contrastive_loss(z, z)):.4f}")
      0.5504
    """
    steps = z1.shape[1]
    length = jnp.asarray(steps if length is None else length)
    total = jnp.zeros(z1.shape[:1], jnp.promote_types(z1.dtype, jnp.float32))
    scales = jnp.zeros((), total.dtype)
    level_length = length
    size = steps
    for level in range(int(math.floor(math.log2(max(steps, 1)))) + 1):
        active = level_length >= 1
        term = jnp.zeros_like(total)
        if alpha != 0:
            term += alpha * instance_contrastive_terms(z1, z2, length=level_length,
                                                       axis_name=axis_name)
        if level >= temporal_unit and alpha != 1:
            term += (1 - alpha) * jnp.where(
                level_length > 1, temporal_contrastive_terms(z1, z2, length=level_length), 0.0)
        total += jnp.where(active, term, 0.0)
        scales += active
        if size < 2:
            break
        z1, z2 = _max_pool(z1), _max_pool(z2)
        size //= 2
        level_length = level_length // 2
    per = total / jnp.maximum(scales, 1)
    if per_example:
        return per
    return global_mean(per.mean(), axis_name)
