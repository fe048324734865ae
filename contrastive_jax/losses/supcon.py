"""Supervised contrastive loss (SupCon), "all" contrast mode."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity


def supcon(features: jax.Array, labels: jax.Array | None = None, *, temperature: float = 0.07,
           base_temperature: float = 0.07, normalize: bool = True, axis_name: str | None = None,
           block_size: int | None = None, cross_device: str = "ring") -> jax.Array:
    """Supervised contrastive loss: every view is an anchor, same-label views are its positives.

    ``L = mean_a  -(t / t_base) * mean_{p in P(a)} [ s(a, p) / t - log sum_{k != a} exp(s(a, k) / t) ]``
    over all N*V anchor views ``a``; ``P(a)`` = the other views whose label equals a's label.
    With ``labels=None`` each example is its own class, which is the SimCLR loss: for V = 2 it
    equals ``nt_xent`` at the same temperature when ``base_temperature == temperature``.
    An anchor without positives (V = 1 and a unique label) contributes 0 but still counts in the
    mean, as in the reference implementation; a single view of a single example gives 0.

    Args:
      features: [N, V, D] V views of N examples.
      labels: [N] int class labels, or None (default: each example its own class).
      temperature: logits are ``cos / temperature`` (default 0.07).
      base_temperature: the loss is scaled by ``temperature / base_temperature`` (default 0.07).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the views and labels of every device are
        candidates. None (default): one device.
      block_size: None (default): dense logits; an int: the exact memory-efficient form
        (``softmax_statistics``), O(N V D + N V block_size) memory, same value and gradients.
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default: a ring of
        ``ppermute`` steps) or ``"all_gather"``.

    Returns:
      Scalar float32 loss, the mean over the N V (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> features = jnp.stack([z1, z2], axis=1)
      >>> loss = losses.supcon(features, jnp.array([0, 1, 0]), temperature=0.5,
      ...                      base_temperature=0.5)
      >>> print(f"{float(loss):.4f}")
      1.2917

    Paper: "Supervised Contrastive Learning", Khosla et al., 2020 (NeurIPS).
    """
    local, views = features.shape[0], features.shape[1]
    anchors = _common.prepare(features, normalize).reshape(local * views, -1)
    if _common.global_count(anchors.shape[0], axis_name) == 1:
        return jnp.zeros((), anchors.dtype)
    example = _common.row_offset(local, axis_name) + jnp.arange(local)
    label = jnp.repeat(example if labels is None else labels, views)
    stats = similarity.softmax_statistics(
        anchors / temperature, anchors, query_labels=label, key_labels=label, exclude_self=True,
        self_index=_common.row_offset(local * views, axis_name) + jnp.arange(local * views),
        block_size=block_size, axis_name=axis_name, cross_device=cross_device)
    count = jax.lax.stop_gradient(stats.positive_count)
    # mean over positives of log_prob = S_ap - row_lse_a; an anchor without positives gives 0.
    mean_log_prob = (stats.positive_sum - count * stats.row_lse) / jnp.maximum(count, 1)
    per_anchor = -(temperature / base_temperature) * mean_log_prob
    return _common.global_mean(jnp.mean(per_anchor), axis_name)
