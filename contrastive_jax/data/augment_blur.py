"""Random Gaussian blur of one image ``[H, W, C]``, as a separable filter with reflect padding."""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax.data.augment_color import apply_with_probability


def default_kernel_size(height: int, width: int) -> int:
    """An odd kernel about 10% of the image side, at least 3 (SimCLR: 23 px for 224 px)."""
    size = int(0.1 * min(height, width))
    return max(3, size + 1 - size % 2)


def gaussian_kernel(sigma: jax.Array, kernel_size: int) -> jax.Array:
    """Normalized taps ``exp(-x^2 / (2 sigma^2))`` at ``x = -(k-1)/2 .. (k-1)/2``. -> [k]."""
    offsets = jnp.arange(kernel_size, dtype=jnp.float32) - (kernel_size - 1) / 2.0
    taps = jnp.exp(-0.5 * jnp.square(offsets / sigma))
    return taps / taps.sum()


def _reflect_indices(length: int, kernel_size: int) -> np.ndarray:
    """Source row of each (tap, output row) under reflect padding: int [kernel_size, length]."""
    radius = kernel_size // 2
    source = np.arange(length)[None, :] + np.arange(kernel_size)[:, None] - radius
    source = np.abs(source)                                   # reflect at the start
    return np.where(source >= length, 2 * (length - 1) - source, source)  # and at the end


def blur_matrix(taps: jax.Array, length: int) -> jax.Array:
    """The [length, length] matrix of a 1-D correlation with ``taps`` [k] and reflect padding."""
    sources = _reflect_indices(length, taps.shape[0])
    selection = np.zeros((taps.shape[0], length, length), np.float32)
    for tap in range(taps.shape[0]):
        selection[tap, np.arange(length), sources[tap]] += 1.0
    return jnp.einsum("t,tij->ij", taps, jnp.asarray(selection, taps.dtype),
                      precision=jax.lax.Precision.HIGHEST)  # TF32 would break sum(taps) = 1


def blur_with_sigma(image: jax.Array, sigma: jax.Array, kernel_size: int) -> jax.Array:
    """Gaussian blur of image [H, W, C] with standard deviation ``sigma`` pixels (traced ok).

    Written as two small matrix products (rows, then columns), as the resize is: a dot reads a
    materialized input, where a fused tap sum would recompute the ops before it per tap.
    """
    height, width = image.shape[:2]
    if kernel_size % 2 == 0 or kernel_size < 1:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}.")
    if kernel_size // 2 >= min(height, width):
        raise ValueError(f"kernel_size {kernel_size} is too large for a {height}x{width} image.")
    taps = gaussian_kernel(jnp.maximum(sigma, 1e-6), kernel_size)
    highest = jax.lax.Precision.HIGHEST
    blurred = jnp.einsum("ih,hwc->iwc", blur_matrix(taps, height), image.astype(jnp.float32),
                         precision=highest)
    blurred = jnp.einsum("jw,iwc->ijc", blur_matrix(taps, width), blurred, precision=highest)
    # Convex weights keep [0, 1] inputs in [0, 1] up to rounding, which the clip removes.
    return jnp.clip(blurred, 0.0, 1.0).astype(image.dtype)


BLUR_UNIFORMS = 2  # apply, sigma


def gaussian_blur_from_uniforms(uniforms: jax.Array, image: jax.Array, *,
                                sigma: Sequence[float] = (0.1, 2.0),
                                kernel_size: int | None = None, p: float) -> jax.Array:
    """``gaussian_blur`` given its draws: uniforms in [0, 1) of shape ``[BLUR_UNIFORMS]``."""
    if p <= 0.0:
        return image
    kernel_size = default_kernel_size(*image.shape[:2]) if kernel_size is None else kernel_size
    drawn = sigma[0] + (sigma[1] - sigma[0]) * uniforms[1]
    return apply_with_probability(uniforms[0], p, blur_with_sigma(image, drawn, kernel_size),
                                  image)


def gaussian_blur(rng: jax.Array, image: jax.Array, *, sigma: Sequence[float] = (0.1, 2.0),
                  kernel_size: int | None = None, p: float) -> jax.Array:
    """With probability ``p``, blur image [H, W, C] with sigma ~ U(sigma) pixels.

    ``kernel_size=None`` uses ``default_kernel_size``. Edges are reflected (torchvision).
    """
    return gaussian_blur_from_uniforms(jax.random.uniform(rng, (BLUR_UNIFORMS,)), image,
                                       sigma=sigma, kernel_size=kernel_size, p=p)
