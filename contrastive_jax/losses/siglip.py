"""SigLIP: pairwise sigmoid loss for language-image pre-training."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity


def siglip(image: jax.Array, text: jax.Array, *, logit_scale: jax.Array | float,
           logit_bias: jax.Array | float, normalize: bool = True, axis_name: str | None = None,
           block_size: int | None = None, cross_device: str = "ring") -> jax.Array:
    """SigLIP loss: every image-text pair is an independent binary classification.

    ``L = -(1/B) sum_{i,j} log sigmoid( y_ij (s * <x_i, y_j> + b) )``, ``y_ij = +1`` if i == j
    else -1, summed over all B x B pairs and divided by the (global) batch size B. With
    ``axis_name`` local images are paired with the texts of every device, the per-device sums are
    added and divided by the global B, so the value equals the full-batch loss.

    Args:
      image: [B, D] image embeddings.
      text: [B, D] text embeddings; text ``i`` matches image ``i``.
      logit_scale: scalar ``s`` used as given (not exponentiated: pass ``exp(t')``; the paper
        initializes t' = log 10).
      logit_bias: scalar ``b`` (the paper initializes it to -10).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the examples of every device are
        candidates. None (default): one device.
      block_size: None (default): dense logits; an int: the exact memory-efficient form
        (``sigmoid_row_sums``; the paper's chunked loss), O(B D + B block_size) memory, same value and gradients.
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default: a ring of
        ``ppermute`` steps) or ``"all_gather"``.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> image = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> text  = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> loss = losses.siglip(image, text, logit_scale=10.0, logit_bias=-5.0)
      >>> print(f"{float(loss):.4f}")
      3.6541

    Paper: "Sigmoid Loss for Language Image Pre-Training", Zhai et al., 2023 (ICCV).
    """
    x, y = _common.prepare(image, normalize), _common.prepare(text, normalize)
    own = _common.row_offset(x.shape[0], axis_name) + jnp.arange(x.shape[0])
    rows = similarity.sigmoid_row_sums(
        _common.upcast(logit_scale) * x, y, _common.upcast(logit_bias), target=own,
        block_size=block_size, axis_name=axis_name, cross_device=cross_device)
    return (_common.global_sum(jnp.sum(rows), axis_name)
            / _common.global_count(x.shape[0], axis_name))
