"""Soft-target CLIP: the CLIP loss with label-smoothed (softened) targets."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity


def soft_target_clip(image: jax.Array, text: jax.Array, *, logit_scale: jax.Array | float,
                     smoothing: float = 0.2, normalize: bool = True,
                     axis_name: str | None = None, block_size: int | None = None,
                     cross_device: str = "ring") -> jax.Array:
    """CLIP loss against softened targets: ``1 - a`` on the matched pair, ``a / (B - 1)`` on
    each of the other B - 1 candidates (PyramidCLIP's softened negatives).

    ``L = 1/2 [ mean_i sum_j -t_ij log softmax_j(s <x_i, y_j>)
    + mean_j sum_i -t_ij log softmax_i(s <x_i, y_j>) ]``, ``t_ii = 1 - a``,
    ``t_ij = a / (B - 1)`` for ``j != i``. Since the targets sum to one, each row's term is
    ``lse_i - (1 - a) S_ii - a / (B - 1) (sum_j S_ij - S_ii)``, and ``sum_j S_ij =
    s <x_i, sum_j y_j>``: so the blockwise form never materializes the logits either.
    ``a = 0`` is ``losses.clip``; B = 1 has no negatives and gives 0. The target form and
    the default ``a = 0.2`` follow our reading of PyramidCLIP's softened objective (label
    smoothing over the unpaired samples); we found no released code to check them against.

    Args:
      image: [B, D] image embeddings.
      text: [B, D] text embeddings; text ``i`` matches image ``i``.
      logit_scale: scalar multiplying the similarities as given (pass ``exp(t)``).
      smoothing: ``a`` in [0, 1), the target mass spread over the negatives (default 0.2,
        PyramidCLIP's softening factor as we read the paper).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the examples of every device are
        candidates. None (default): one device.
      block_size: None (default): dense logits; an int: the exact memory-efficient form.
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default) or
        ``"all_gather"``.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> image = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> text  = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.soft_target_clip(image, text, logit_scale=10.0)):.4f}")
      0.9964

    Paper: "PyramidCLIP: Hierarchical Feature Alignment for Vision-language Model
    Pretraining", Gao et al., 2022 (NeurIPS), softened objective.
    """
    x, y = _common.prepare(image, normalize), _common.prepare(text, normalize)
    queries = _common.upcast(logit_scale) * x
    local = x.shape[0]
    own = _common.row_offset(local, axis_name) + jnp.arange(local)
    stats = similarity.softmax_statistics(
        queries, y, target=own, columns=True, block_size=block_size, axis_name=axis_name,
        cross_device=cross_device)
    matched = stats.positive_sum
    total = _common.global_count(local, axis_name)
    row_ce, column_ce = stats.row_lse - matched, stats.column_lse - matched
    if total > 1:  # the negatives' share of the target; none when the batch is one pair
        row_sum = queries @ _common.global_sum(jnp.sum(y, axis=0), axis_name)
        column_sum = y @ _common.global_sum(jnp.sum(queries, axis=0), axis_name)
        weight = smoothing / (total - 1)
        row_ce = row_ce - weight * (row_sum - matched) + smoothing * matched
        column_ce = column_ce - weight * (column_sum - matched) + smoothing * matched
    loss = 0.5 * (jnp.mean(row_ce) + jnp.mean(column_ce))
    return _common.global_mean(loss, axis_name)
