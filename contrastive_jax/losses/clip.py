"""CLIP's symmetric image-text contrastive loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity


def clip(image: jax.Array, text: jax.Array, *, logit_scale: jax.Array | float,
         normalize: bool = True, axis_name: str | None = None, block_size: int | None = None,
         cross_device: str = "ring") -> jax.Array:
    """CLIP loss: mean of the image->text and text->image cross-entropies of the matched pairs.

    ``L = 1/2 [ mean_i CE(softmax_j(s * <x_i, y_j>), i) + mean_j CE(softmax_i(s * <x_i, y_j>), j) ]``

    ``logit_scale`` multiplies the cosine similarities as given: it is NOT exponentiated here, so
    pass ``exp(learned_log_scale)`` (CLIP initializes the log scale to log(1 / 0.07) and clips the
    scale at 100). B = 1 gives exactly 0. Both directions come from the rows and columns of one
    logits matrix (``softmax_statistics(..., columns=True)``).

    Args:
      image: [B, D] image embeddings.
      text: [B, D] text embeddings; text ``i`` matches image ``i``.
      logit_scale: scalar multiplying the similarities (required; differentiable).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the examples of every device are
        candidates. None (default): one device.
      block_size: None (default): dense logits; an int: the exact memory-efficient form
        (``softmax_statistics``), O(B D + B block_size) memory, same value and gradients.
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default: a ring of
        ``ppermute`` steps) or ``"all_gather"``.

    Returns:
      Scalar float32 loss, the mean of the two directions over the (global) batch.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> image = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> text  = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.clip(image, text, logit_scale=10.0)):.4f}")
      0.1558

    Paper: "Learning Transferable Visual Models From Natural Language Supervision",
    Radford et al., 2021.
    """
    x, y = _common.prepare(image, normalize), _common.prepare(text, normalize)
    own = _common.row_offset(x.shape[0], axis_name) + jnp.arange(x.shape[0])
    # Both directions from the rows and columns of one logits matrix s * x y^T.
    stats = similarity.softmax_statistics(
        _common.upcast(logit_scale) * x, y, target=own, columns=True, block_size=block_size,
        axis_name=axis_name, cross_device=cross_device)
    matched = stats.positive_sum  # the same float32 logits as in the log-sum-exps: B = 1 gives 0
    loss = 0.5 * (jnp.mean(stats.row_lse - matched) + jnp.mean(stats.column_lse - matched))
    return _common.global_mean(loss, axis_name)
