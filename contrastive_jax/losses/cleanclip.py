"""CleanCLIP: the CLIP loss plus in-modality contrastive terms on both modalities."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity
from contrastive_jax.losses.clip import clip


def _one_way(anchors, augmented, scale, axis_name, block_size, cross_device):
    """Per-anchor ``CE(softmax_j(s <a_i, b_j>), i)`` over the augmented views of every device."""
    own = _common.row_offset(anchors.shape[0], axis_name) + jnp.arange(anchors.shape[0])
    stats = similarity.softmax_statistics(
        scale * anchors, augmented, target=own, block_size=block_size, axis_name=axis_name,
        cross_device=cross_device)
    return stats.row_lse - stats.positive_sum


def cleanclip(image: jax.Array, text: jax.Array, image_augmented: jax.Array,
              text_augmented: jax.Array, *, logit_scale: jax.Array | float,
              clip_weight: float = 1.0, inmodal_weight: float = 1.0, normalize: bool = True,
              axis_name: str | None = None, block_size: int | None = None,
              cross_device: str = "ring") -> jax.Array:
    """CleanCLIP loss: ``clip_weight * L_CLIP + inmodal_weight * L_SS``.

    ``L_CLIP`` is ``losses.clip(image, text)``; ``L_SS = 1/2 [ mean_i CE(softmax_j(s <x_i,
    x'_j>), i) + mean_i CE(softmax_j(s <y_i, y'_j>), i) ]``, where ``x'`` / ``y'`` embed
    augmented images / augmented captions: each image must pick its own augmented view among
    the batch's augmented images, and each caption its own augmented caption. The in-modality
    terms go one way (original -> augmented) and use CLIP's logit scale, as in the released
    code (``logits_image_per_augmented_image = logit_scale * image @ augmented_image.T``).

    Args:
      image: [B, D] image embeddings.
      text: [B, D] text embeddings; text ``i`` matches image ``i``.
      image_augmented: [B, D] embeddings of an augmented view of each image.
      text_augmented: [B, D] embeddings of an augmented version of each caption.
      logit_scale: scalar multiplying the similarities as given (pass ``exp(t)``).
      clip_weight: ``lambda_1`` (default 1, the paper's and released code's).
      inmodal_weight: ``lambda_2`` (default 1, the paper's and released code's).
      normalize: L2-normalize the inputs first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; candidates from every device.
      block_size: None (default): dense logits; an int: the exact memory-efficient form.
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default) or
        ``"all_gather"``.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> image = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> text = jnp.array([[0.9, 0.1], [0.2, 0.8]])
      >>> loss = losses.cleanclip(image, text, image + 0.1, text[::-1], logit_scale=10.0)
      >>> print(f"{float(loss):.4f}")
      3.2603

    Paper: "CleanCLIP: Mitigating Data Poisoning Attacks in Multimodal Contrastive Learning",
    Bansal et al., 2023 (ICCV).
    """
    kwargs = dict(axis_name=axis_name, block_size=block_size)
    if block_size is not None:
        kwargs["cross_device"] = cross_device
    crossmodal = clip(image, text, logit_scale=logit_scale, normalize=normalize, **kwargs)
    scale = _common.upcast(logit_scale)
    prep = lambda z: _common.prepare(z, normalize)
    inmodal = 0.5 * (
        _one_way(prep(image), prep(image_augmented), scale, axis_name, block_size, cross_device)
        + _one_way(prep(text), prep(text_augmented), scale, axis_name, block_size, cross_device))
    return clip_weight * crossmodal + inmodal_weight * _common.global_mean(jnp.mean(inmodal),
                                                                          axis_name)
