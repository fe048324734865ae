"""Photometric augmentations for one image ``[H, W, C]`` in [0, 1]: colour jitter, grayscale, solarize.

Semantics follow torchvision's tensor ops (used by SimCLR / BYOL reference code): brightness,
contrast and saturation blend the image with black, its mean gray level and its grayscale
version, then clip to [0, 1]; hue rotates H in HSV space. Grayscale images (C = 1) go through
the same code: saturation and hue leave a gray image unchanged, so only brightness and
contrast act. Every random op takes an explicit key and is jit- and vmap-able.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601

BRIGHTNESS, CONTRAST, SATURATION, HUE = 0, 1, 2, 3


def rgb_to_grayscale(image: jax.Array) -> jax.Array:
    """ITU-R 601 luma. image: [H, W, 3] -> [H, W, 1]; a [H, W, 1] image is returned as is."""
    if image.shape[-1] == 1:
        return image
    red, green, blue = _planes(image)
    return LUMA_WEIGHTS[0] * red + LUMA_WEIGHTS[1] * green + LUMA_WEIGHTS[2] * blue


def _planes(image: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    # Channel slices rather than reductions over the channel axis: XLA:CPU reduces a minor axis
    # of size 3 ~20x slower than it does the same arithmetic elementwise.
    return image[..., 0:1], image[..., 1:2], image[..., 2:3]


def mean_gray(image: jax.Array) -> jax.Array:
    """The mean luma of image [H, W, C], a scalar.

    Written as one dot product with the tiled luma weights: a reduction fused with the colour
    ops before it compiles to slow scalar code on XLA:CPU, a dot product does not.
    """
    height, width, channels = image.shape
    weights = LUMA_WEIGHTS if channels == 3 else (1.0,)
    tiled = jnp.tile(jnp.asarray(weights, image.dtype), height * width) / (height * width)
    return jnp.dot(image.reshape(-1), tiled, precision=jax.lax.Precision.HIGHEST)


def _blend(image: jax.Array, target: jax.Array, factor: jax.Array) -> jax.Array:
    return jnp.clip(factor * image + (1.0 - factor) * target, 0.0, 1.0)


def adjust_brightness(image: jax.Array, factor: jax.Array) -> jax.Array:
    """``clip(factor * image)``; factor 1 is the identity. image: [H, W, C]."""
    return _blend(image, jnp.zeros_like(image), factor)


def adjust_contrast(image: jax.Array, factor: jax.Array) -> jax.Array:
    """Blend with the mean gray level of the image: ``clip(f * x + (1 - f) * mean(gray(x)))``."""
    return _blend(image, mean_gray(image), factor)


def adjust_saturation(image: jax.Array, factor: jax.Array) -> jax.Array:
    """Blend with the grayscale image: ``clip(f * x + (1 - f) * gray(x))``; identity for C = 1."""
    return _blend(image, rgb_to_grayscale(image), factor)


def _wrap(x: jax.Array, period: float) -> jax.Array:
    # x mod period (period > 0) via floor: jnp.mod lowers to a scalar fmod on XLA:CPU, ~50x slower.
    return x - period * jnp.floor(x / period)


def rgb_to_hsv(image: jax.Array) -> jax.Array:
    """[..., 3] RGB in [0, 1] -> [..., 3] HSV in [0, 1] (hue as a fraction of a turn)."""
    red, green, blue = _planes(image)
    value = jnp.maximum(jnp.maximum(red, green), blue)
    chroma = value - jnp.minimum(jnp.minimum(red, green), blue)
    inverse_chroma = 1.0 / jnp.where(chroma > 0, chroma, 1.0)
    sixths = jnp.where(value == red, (green - blue) * inverse_chroma,
                       jnp.where(value == green, 2.0 + (blue - red) * inverse_chroma,
                                 4.0 + (red - green) * inverse_chroma))
    hue = jnp.where(chroma > 0, _wrap(sixths / 6.0, 1.0), 0.0)
    saturation = jnp.where(value > 0, chroma / jnp.where(value > 0, value, 1.0), 0.0)
    return jnp.concatenate([hue, saturation, value], axis=-1)


def hsv_to_rgb(hsv: jax.Array) -> jax.Array:
    """[..., 3] HSV in [0, 1] -> [..., 3] RGB, by the branch-free form
    ``channel(n) = V - V S clip(min(k, 4 - k), 0, 1)``, ``k = (n + 6 H) mod 6``, n = 5, 3, 1."""
    hue, saturation, value = _planes(hsv)
    n = jnp.asarray([5.0, 3.0, 1.0], hsv.dtype)
    k = _wrap(n + 6.0 * hue, 6.0)
    return value - value * saturation * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0)


def adjust_hue(image: jax.Array, shift: jax.Array) -> jax.Array:
    """Rotate the hue by ``shift`` turns (in [-0.5, 0.5]). image: [H, W, C]; identity for C = 1."""
    if image.shape[-1] == 1:
        return image
    hsv = rgb_to_hsv(image)
    rotated = jnp.concatenate([_wrap(hsv[..., 0:1] + shift, 1.0), hsv[..., 1:]], axis=-1)
    return jnp.clip(hsv_to_rgb(rotated), 0.0, 1.0).astype(image.dtype)


def _blend_by_id(image: jax.Array, op: jax.Array, factors: jax.Array) -> jax.Array:
    """Brightness, contrast or saturation (``op`` = 0, 1, 2, traced) as one blend."""
    gray = rgb_to_grayscale(image)
    target = jnp.where(op == BRIGHTNESS, 0.0, jnp.where(op == CONTRAST, mean_gray(image), gray))
    return _blend(image, target, factors[op])


def _factor(uniform: jax.Array, strength: float) -> jax.Array:
    low = max(0.0, 1.0 - strength)
    return low + (1.0 + strength - low) * uniform


JITTER_UNIFORMS = 9  # apply, 3 factors, hue shift, 4 sort keys for the order


def jitter_in_order(image: jax.Array, order: jax.Array, factors: jax.Array,
                    hue_shift: jax.Array) -> jax.Array:
    """Apply the four jitter ops in ``order`` (a permutation of BRIGHTNESS..HUE, int [4]).

    factors: [3] blend factors for brightness, contrast, saturation; hue_shift: [] in turns.
    Hue is the only costly op, so it is computed once, on the state reached before its turn;
    the three blends run before and after it as the order says. The blends are ``lax.scan``
    steps: each step then reads a materialized image (fused, every blend would recompute the
    grayscale of all earlier ones, 3x more work per step).
    """
    order, factors = jnp.asarray(order), jnp.asarray(factors)
    hue_position = jnp.argmax(order == HUE)
    blends = order[jnp.argsort(order == HUE, stable=True)][:3]

    def blend_step(state, op):
        state = _blend_by_id(state, op, factors)
        return state, state

    final, states = jax.lax.scan(blend_step, image, blends)
    if image.shape[-1] == 1:  # hue is the identity on gray images
        return final
    before_hue = jnp.concatenate([image[None], states])[hue_position]
    rotated = adjust_hue(before_hue, hue_shift)

    def blend_after_hue(state, index_and_op):
        index, op = index_and_op
        return jnp.where(index >= hue_position, _blend_by_id(state, op, factors), state), None

    rotated, _ = jax.lax.scan(blend_after_hue, rotated, (jnp.arange(3), blends))
    return rotated


def color_jitter_from_uniforms(uniforms: jax.Array, image: jax.Array, *, brightness: float,
                               contrast: float, saturation: float, hue: float,
                               p: float) -> jax.Array:
    """``color_jitter`` given its draws: uniforms in [0, 1) of shape ``[JITTER_UNIFORMS]``."""
    if not 0.0 <= hue <= 0.5:
        raise ValueError(f"hue must be in [0, 0.5], got {hue}.")
    factors = jnp.stack([_factor(uniforms[1], brightness), _factor(uniforms[2], contrast),
                         _factor(uniforms[3], saturation)])
    hue_shift = hue * (2.0 * uniforms[4] - 1.0)
    order = jnp.argsort(uniforms[5:9])  # a uniformly random permutation of the four ops
    jittered = jitter_in_order(image, order, factors, hue_shift).astype(image.dtype)
    return apply_with_probability(uniforms[0], p, jittered, image)


def color_jitter(rng: jax.Array, image: jax.Array, *, brightness: float = 0.0,
                 contrast: float = 0.0, saturation: float = 0.0, hue: float = 0.0,
                 p: float = 1.0) -> jax.Array:
    """With probability ``p``, jitter brightness, contrast, saturation and hue in a random order.

    Factors ~ U[max(0, 1 - s), 1 + s] for the first three, hue shift ~ U[-hue, hue] turns
    (torchvision ``ColorJitter``; SimCLR, Chen et al. 2020, appendix A). image: [H, W, C].
    """
    return color_jitter_from_uniforms(jax.random.uniform(rng, (JITTER_UNIFORMS,)), image,
                                      brightness=brightness, contrast=contrast,
                                      saturation=saturation, hue=hue, p=p)


def grayscale_if(uniform: jax.Array, image: jax.Array, *, p: float) -> jax.Array:
    """``random_grayscale`` given its draw ``uniform`` in [0, 1)."""
    if image.shape[-1] == 1:
        return image
    gray = jnp.broadcast_to(jnp.clip(rgb_to_grayscale(image), 0.0, 1.0), image.shape)
    return apply_with_probability(uniform, p, gray, image)


def random_grayscale(rng: jax.Array, image: jax.Array, *, p: float) -> jax.Array:
    """With probability ``p``, replace [H, W, 3] by its luma on all three channels."""
    return grayscale_if(jax.random.uniform(rng), image, p=p)


def solarize_if(uniform: jax.Array, image: jax.Array, *, threshold: float = 0.5,
                p: float) -> jax.Array:
    """``solarize`` given its draw ``uniform`` in [0, 1)."""
    solarized = jnp.where(image >= threshold, 1.0 - image, image)
    return apply_with_probability(uniform, p, solarized, image)


def solarize(rng: jax.Array, image: jax.Array, *, threshold: float = 0.5, p: float) -> jax.Array:
    """With probability ``p``, invert pixels at or above ``threshold``: ``x >= t ? 1 - x : x``."""
    return solarize_if(jax.random.uniform(rng), image, threshold=threshold, p=p)


def apply_with_probability(uniform: jax.Array, p: float, changed: jax.Array,
                           original: jax.Array) -> jax.Array:
    """``changed`` if the draw ``uniform`` in [0, 1) is below ``p``, else ``original``.

    A static p of 0 or 1 decides without looking at the draw.
    """
    if p >= 1.0:
        return changed
    if p <= 0.0:
        return original
    return jnp.where(uniform < p, changed, original)
