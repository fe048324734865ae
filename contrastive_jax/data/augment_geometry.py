"""Geometric augmentations for one image ``[H, W, C]``: random resized crop and horizontal flip.

Every random function is pure JAX, takes an explicit key (and has a ``*_from_uniforms`` twin
taking its draws, so a whole pipeline can draw once per example: each random draw site costs
XLA ~0.3 s of compile time on CPU), and is jit- and vmap-able: crop boxes are
traced integers, the output size is static. Resizing is a pair of small interpolation matrices
(``[out, in]`` per axis) restricted to the crop window, so a crop of any traced size compiles
once.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop tries 10 boxes before falling back


def as_size(size: int | Sequence[int]) -> tuple[int, int]:
    """``7 -> (7, 7)``; ``(h, w)`` or ``[h, w]`` -> ``(h, w)`` as Python ints."""
    if isinstance(size, int):
        return (size, size)
    height, width = (int(s) for s in size)
    return (height, width)


def _interpolation_matrix(in_size: int, out_size: int, start: jax.Array,
                          length: jax.Array) -> jax.Array:
    """Weights ``[out_size, in_size]`` resampling input rows ``[start, start + length)``.

    Triangle (bilinear) kernel at half-pixel centres, widened by the shrink factor when
    downsampling (antialiasing, as PIL does), with taps outside the window dropped and the rest
    renormalized (equivalent to clamping at the window's edges).
    """
    length = length.astype(jnp.float32)
    start = start.astype(jnp.float32)
    step = length / out_size                      # input pixels per output pixel
    support = jnp.maximum(step, 1.0)
    centres = start + (jnp.arange(out_size, dtype=jnp.float32) + 0.5) * step - 0.5
    pixels = jnp.arange(in_size, dtype=jnp.float32)
    weights = jnp.maximum(0.0, 1.0 - jnp.abs(pixels[None, :] - centres[:, None]) / support)
    inside = (pixels >= start) & (pixels < start + length)
    weights = jnp.where(inside[None, :], weights, 0.0)
    return weights / jnp.maximum(weights.sum(axis=1, keepdims=True), 1e-12)


def resized_crop(image: jax.Array, top: jax.Array, left: jax.Array, height: jax.Array,
                 width: jax.Array, out_size: int | Sequence[int]) -> jax.Array:
    """Crop ``image[top:top+height, left:left+width]`` and resize it bilinearly to ``out_size``.

    image: [H, W, C]; the box may be traced ints. Returns [out_h, out_w, C], same dtype.
    """
    out_h, out_w = as_size(out_size)
    in_h, in_w = image.shape[:2]
    rows = _interpolation_matrix(in_h, out_h, jnp.asarray(top), jnp.asarray(height))
    cols = _interpolation_matrix(in_w, out_w, jnp.asarray(left), jnp.asarray(width))
    highest = jax.lax.Precision.HIGHEST
    resized = jnp.einsum("oh,hwc->owc", rows, image.astype(jnp.float32), precision=highest)
    resized = jnp.einsum("pw,owc->opc", cols, resized, precision=highest)
    # Convex weights keep [0, 1] inputs in [0, 1] up to rounding, which the clip removes.
    return jnp.clip(resized, 0.0, 1.0).astype(image.dtype)


def _fallback_box(height: int, width: int, ratio: tuple[float, float]) -> tuple[int, int, int, int]:
    """torchvision's fallback: the largest centred box whose aspect ratio is clipped to ``ratio``."""
    in_ratio = width / height
    if in_ratio < ratio[0]:
        box_w, box_h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        box_h, box_w = height, int(round(height * ratio[1]))
    else:
        box_w, box_h = width, height
    return (height - box_h) // 2, (width - box_w) // 2, box_h, box_w


CROP_UNIFORMS = (4, CROP_ATTEMPTS)  # area, log-ratio, top and left draws per attempt


def crop_box_from_uniforms(uniforms: jax.Array, height: int, width: int, *,
                           scale: Sequence[float] = (0.08, 1.0),
                           ratio: Sequence[float] = (3 / 4, 4 / 3)) -> jax.Array:
    """``sample_crop_box`` given its random draws: uniforms in [0, 1) of shape ``CROP_UNIFORMS``."""
    area_u, ratio_u, top_u, left_u = uniforms
    area = height * width * (scale[0] + (scale[1] - scale[0]) * area_u)
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = jnp.exp(log_low + (log_high - log_low) * ratio_u)
    box_w = jnp.round(jnp.sqrt(area * aspect)).astype(jnp.int32)
    box_h = jnp.round(jnp.sqrt(area / aspect)).astype(jnp.int32)
    fits = (box_w > 0) & (box_w <= width) & (box_h > 0) & (box_h <= height)
    top = jnp.floor(top_u * (height - box_h + 1)).astype(jnp.int32)
    left = jnp.floor(left_u * (width - box_w + 1)).astype(jnp.int32)
    candidates = jnp.stack([top, left, box_h, box_w], axis=1)
    first = jnp.argmax(fits)
    fallback = jnp.asarray(_fallback_box(height, width, (ratio[0], ratio[1])), jnp.int32)
    return jnp.where(fits.any(), candidates[first], fallback)


def sample_crop_box(rng: jax.Array, height: int, width: int, *,
                    scale: Sequence[float] = (0.08, 1.0),
                    ratio: Sequence[float] = (3 / 4, 4 / 3)) -> jax.Array:
    """A random crop box ``int32 [4] = (top, left, box_h, box_w)`` for an ``height x width`` image.

    Area fraction ~ U(scale), aspect ratio w/h log-uniform in ``ratio`` (Szegedy et al., "Going
    deeper with convolutions", 2015). ``CROP_ATTEMPTS`` candidates are drawn at once and the
    first that fits is used; if none fits, the centred fallback box of torchvision is used.
    """
    uniforms = jax.random.uniform(rng, CROP_UNIFORMS)
    return crop_box_from_uniforms(uniforms, height, width, scale=scale, ratio=ratio)


def random_resized_crop_from_uniforms(uniforms: jax.Array, image: jax.Array, *,
                                      out_size: int | Sequence[int] | None = None,
                                      scale: Sequence[float] = (0.08, 1.0),
                                      ratio: Sequence[float] = (3 / 4, 4 / 3)) -> jax.Array:
    """``random_resized_crop`` given its draws (uniforms of shape ``CROP_UNIFORMS``)."""
    height, width = image.shape[:2]
    out_size = (height, width) if out_size is None else out_size
    top, left, box_h, box_w = crop_box_from_uniforms(uniforms, height, width, scale=scale,
                                                     ratio=ratio)
    return resized_crop(image, top, left, box_h, box_w, out_size)


def random_resized_crop(rng: jax.Array, image: jax.Array, *,
                        out_size: int | Sequence[int] | None = None,
                        scale: Sequence[float] = (0.08, 1.0),
                        ratio: Sequence[float] = (3 / 4, 4 / 3)) -> jax.Array:
    """Inception-style random resized crop. image: [H, W, C] -> [out_h, out_w, C].

    ``out_size=None`` keeps the input size. Matches torchvision's ``RandomResizedCrop``
    sampling (integer box, 10 tries, centred fallback) with antialiased bilinear resizing.
    """
    return random_resized_crop_from_uniforms(jax.random.uniform(rng, CROP_UNIFORMS), image,
                                             out_size=out_size, scale=scale, ratio=ratio)


def horizontal_flip(rng: jax.Array, image: jax.Array, *, p: float = 0.5) -> jax.Array:
    """Mirror ``image`` [H, W, C] left-right with probability ``p``."""
    return flip_if(jax.random.uniform(rng) < p, image)


def flip_if(flip: jax.Array, image: jax.Array) -> jax.Array:
    """``image`` [H, W, C] mirrored left-right where the boolean ``flip`` is true."""
    return jnp.where(flip, image[:, ::-1, :], image)
