"""NegCLIP: CLIP with hard negative captions added to the image->text softmax."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, similarity


def negclip(image: jax.Array, text: jax.Array, negative_text: jax.Array, *,
            logit_scale: jax.Array | float, normalize: bool = True,
            axis_name: str | None = None, block_size: int | None = None,
            cross_device: str = "ring") -> jax.Array:
    """NegCLIP loss: the CLIP loss whose image->text softmax also runs over hard negative texts.

    ``L = 1/2 [ mean_i -log( e^{s<x_i,y_i>} / (sum_j e^{s<x_i,y_j>} + sum_k e^{s<x_i,n_k>}) )
    + mean_j CE(softmax_i(s <x_i, y_j>), j) ]``

    ``n_k`` are the hard negative captions of the batch (NegCLIP makes one per caption by
    swapping its words, e.g. "a 3 left of a 7" -> "a 7 left of a 3"). Every image sees every
    hard negative of the (global) batch, as when the negatives are appended to the batch's
    texts. The negatives describe no image, so they are no anchors of the text->image direction,
    which is CLIP's. Without negatives (``N = 0`` is not allowed) this is ``losses.clip``.
    The paper also adds hard negative *images* (nearest neighbours with their captions) to the
    batch; that is batch construction, not part of this loss.

    Args:
      image: [B, D] image embeddings.
      text: [B, D] text embeddings; text ``i`` matches image ``i``.
      negative_text: [N, D] embeddings of the hard negative captions (e.g. N = B, one each).
      logit_scale: scalar multiplying the similarities as given (pass ``exp(t)``).
      normalize: L2-normalize the inputs first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the texts and negatives of every device
        are candidates. None (default): one device.
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
      >>> negative = jnp.array([[0.7, 0.3], [0.4, 0.6]])
      >>> print(f"{float(losses.negclip(image, text, negative, logit_scale=10.0)):.4f}")
      0.1560

    Paper: "When and Why Vision-Language Models Behave like Bags-of-Words, and What to Do About
    It?", Yuksekgonul et al., 2023 (ICLR).
    """
    x, y = _common.prepare(image, normalize), _common.prepare(text, normalize)
    n = _common.prepare(negative_text, normalize)
    queries = _common.upcast(logit_scale) * x
    own = _common.row_offset(x.shape[0], axis_name) + jnp.arange(x.shape[0])
    stats = similarity.softmax_statistics(
        queries, y, target=own, columns=True, block_size=block_size, axis_name=axis_name,
        cross_device=cross_device)
    hard = similarity.softmax_statistics(queries, n, block_size=block_size, axis_name=axis_name,
                                         cross_device=cross_device)
    matched = stats.positive_sum
    image_to_text = jnp.logaddexp(stats.row_lse, hard.row_lse) - matched
    loss = 0.5 * (jnp.mean(image_to_text) + jnp.mean(stats.column_lse - matched))
    return _common.global_mean(loss, axis_name)
