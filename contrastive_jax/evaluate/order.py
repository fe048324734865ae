"""Order / attribute understanding: does an image score its caption above the caption's swap?

For ``composites:<source>`` data (each record's ``text`` and its word-swapped
``text_negative``, e.g. "a 3 left of a 7" vs "a 7 left of a 3"), ``order_accuracy`` is the
fraction of held-out images whose cosine similarity to their caption exceeds that to the
swapped caption (the ARO benchmark's measure, Yuksekgonul et al., 2023). A bag-of-words text
encoder cannot tell the two apart and scores 50% at best (ties count as failures).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from contrastive_jax.evaluate.features import EmbedFn, embed_split


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def order_accuracy(image_embeddings, text_embeddings, negative_embeddings) -> float:
    """Fraction of rows with ``cos(image_i, text_i) > cos(image_i, negative_i)``.

    image_embeddings, text_embeddings, negative_embeddings: [N, D], row i of each belongs to
    example i.
    """
    x, y, n = _unit(image_embeddings), _unit(text_embeddings), _unit(negative_embeddings)
    return float(np.mean(np.sum(x * y, axis=1) > np.sum(x * n, axis=1)))


class OrderEvaluator:
    """``order_accuracy`` over a streamed held-out split whose batches carry ``text`` and
    ``text_negative``: three embed functions (image, caption, negative caption) over the same
    batches. Yields ``("order_accuracy", value)``."""

    def __init__(self, embed_image_fn: EmbedFn, embed_text_fn: EmbedFn,
                 embed_negative_fn: EmbedFn, *, test_batches):
        self.embed_fns = (embed_image_fn, embed_text_fn, embed_negative_fn)
        self.test_batches = test_batches

    def run(self, model) -> Iterator[tuple[str, float]]:
        image, text, negative = (embed_split(fn, model, self.test_batches)[0]
                                 for fn in self.embed_fns)
        yield "order_accuracy", order_accuracy(image, text, negative)
