"""Cross-modal retrieval Recall@K (image->text and text->image), the COCO / Flickr30k protocol
used by CLIP (Radford et al., 2021) and ALIGN (Jia et al., 2021).

Images ``0..I-1`` and texts ``0..T-1`` are compared by cosine similarity. Text ``t`` describes
image ``image_ids[t]`` (default ``image_ids = arange(I)``: pair ``i`` matches ``i``, ``T == I``);
an image may have several captions, e.g. COCO's five.

* text->image: text ``t`` is a hit at K if its image ranks in the top K images.
* image->text: image ``i`` is a hit at K if *any* of its captions ranks in the top K texts.

The rank of a match is the number of candidates strictly more similar than it (ties count in
the match's favour); Recall@K is the fraction of queries whose match has rank < K.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax.evaluate.knn import l2_normalize

_HIGHEST = jax.lax.Precision.HIGHEST


@jax.jit
def image_to_text_ranks(image_batch, image_batch_ids, texts, image_ids) -> jax.Array:
    """Rank int32 [B] of each image's best-ranked caption.

    image_batch: unit [B, D]; image_batch_ids: int [B], the indices of the batch's images;
    texts: unit [T, D]; image_ids: int [T], the image of each text.
    """
    similarity = jnp.matmul(image_batch, texts.T, precision=_HIGHEST)  # [B, T]
    is_match = image_batch_ids[:, None] == image_ids[None, :]
    best_match = jnp.max(jnp.where(is_match, similarity, -jnp.inf), axis=1)
    return jnp.sum(similarity > best_match[:, None], axis=1)


@jax.jit
def text_to_image_ranks(text_batch, text_batch_image_ids, images) -> jax.Array:
    """Rank int32 [B] of each text's image. text_batch: unit [B, D]; text_batch_image_ids:
    int [B], the image each text describes; images: unit [I, D]."""
    similarity = jnp.matmul(text_batch, images.T, precision=_HIGHEST)  # [B, I]
    match = jnp.take_along_axis(similarity, text_batch_image_ids[:, None], axis=1)
    return jnp.sum(similarity > match, axis=1)


def _batched_ranks(rank_fn, queries: np.ndarray, query_ids: np.ndarray, *others,
                   batch_size: int) -> np.ndarray:
    """``rank_fn`` over fixed-size query batches (last one padded, padding dropped)."""
    num = len(queries)
    batch = max(1, min(batch_size, num))
    padded = -(-num // batch) * batch
    queries = np.pad(queries, ((0, padded - num), (0, 0)))
    query_ids = np.pad(query_ids, (0, padded - num))
    ranks = [np.asarray(rank_fn(jnp.asarray(queries[s:s + batch]),
                                jnp.asarray(query_ids[s:s + batch]), *others))
             for s in range(0, padded, batch)]
    return np.concatenate(ranks)[:num]


def retrieval_ranks(image_embeddings, text_embeddings, *, image_ids=None,
                    batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``(image_to_text_ranks [I], text_to_image_ranks [T])`` as defined in the module doc.

    image_embeddings: [I, D]; text_embeddings: [T, D]; image_ids: int [T] or None.
    """
    images = np.asarray(l2_normalize(jnp.asarray(image_embeddings, jnp.float32)))
    texts = np.asarray(l2_normalize(jnp.asarray(text_embeddings, jnp.float32)))
    num_images = len(images)
    if image_ids is None:
        if len(texts) != num_images:
            raise ValueError(f"without image_ids, images and texts pair up one to one; got "
                             f"{num_images} images and {len(texts)} texts")
        image_ids = np.arange(num_images)
    image_ids = np.asarray(image_ids, np.int32).reshape(-1)
    if len(image_ids) != len(texts):
        raise ValueError(f"image_ids has {len(image_ids)} entries for {len(texts)} texts")
    if image_ids.min() < 0 or image_ids.max() >= num_images:
        raise ValueError(f"image_ids must lie in [0, {num_images})")
    if len(np.unique(image_ids)) != num_images:
        raise ValueError("every image needs at least one text in image_ids")
    i2t = _batched_ranks(image_to_text_ranks, images, np.arange(num_images, dtype=np.int32),
                         jnp.asarray(texts), jnp.asarray(image_ids), batch_size=batch_size)
    t2i = _batched_ranks(text_to_image_ranks, texts, image_ids, jnp.asarray(images),
                         batch_size=batch_size)
    return i2t, t2i


def retrieval_recall(image_embeddings, text_embeddings, *, ks: Sequence[int] = (1, 5, 10),
                     image_ids=None, batch_size: int = 1024) -> dict:
    """Recall@K both ways: ``{"i2t_recall@K": float, "t2i_recall@K": float}`` for K in ``ks``.

    image_embeddings: [I, D]; text_embeddings: [T, D]; image_ids: int [T], the image each text
    describes (default: text ``i`` describes image ``i``).
    """
    i2t, t2i = retrieval_ranks(image_embeddings, text_embeddings, image_ids=image_ids,
                               batch_size=batch_size)
    recalls = {}
    for k in ks:
        recalls[f"i2t_recall@{k}"] = float(np.mean(i2t < k))
        recalls[f"t2i_recall@{k}"] = float(np.mean(t2i < k))
    return recalls
