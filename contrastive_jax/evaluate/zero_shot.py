"""Zero-shot classification from class text embeddings, as in CLIP (Radford et al.,
"Learning Transferable Visual Models From Natural Language Supervision", 2021).

Each class ``c`` is represented by a unit vector ``t_c``: the L2-normalized text embedding of
its name, or, with several prompt templates, the mean of the normalized template embeddings,
renormalized. An image ``x`` is assigned ``argmax_c cos(x, t_c)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax.evaluate.knn import l2_normalize

_HIGHEST = jax.lax.Precision.HIGHEST


def class_embeddings(class_text_embeddings) -> jax.Array:
    """Unit class vectors [C, D] from ``[C, D]`` or ``[C, num_templates, D]`` text embeddings
    (templates are normalized, averaged, then the mean is renormalized)."""
    text = jnp.asarray(class_text_embeddings, jnp.float32)
    if text.ndim == 3:
        text = jnp.mean(l2_normalize(text), axis=1)
    elif text.ndim != 2:
        raise ValueError(f"class_text_embeddings must be [C, D] or [C, T, D], got {text.shape}")
    return l2_normalize(text)


@jax.jit
def zero_shot_logits(image_embeddings, class_text_embeddings) -> jax.Array:
    """Cosine similarities [N, C] of ``image_embeddings: [N, D]`` to the class vectors."""
    images = l2_normalize(jnp.asarray(image_embeddings, jnp.float32))
    return jnp.matmul(images, class_embeddings(class_text_embeddings).T, precision=_HIGHEST)


def zero_shot_accuracy(image_embeddings, labels, class_text_embeddings, *, k: int = 1) -> float:
    """Fraction of images whose true class (``labels: int [N]``) is among the ``k`` classes
    most cosine-similar to the image; ``k=1`` is top-1 zero-shot accuracy.

    image_embeddings: [N, D]; class_text_embeddings: [C, D] or [C, num_templates, D].
    """
    logits = zero_shot_logits(jnp.asarray(image_embeddings), jnp.asarray(class_text_embeddings))
    _, top = jax.lax.top_k(logits, min(k, logits.shape[1]))
    hits = np.any(np.asarray(top) == np.asarray(labels).reshape(-1, 1), axis=1)
    return float(np.mean(hits))
