"""Independent NumPy / PIL / colorsys references for the augmentation tests.

Written from torchvision's documented semantics, pixel by pixel where that is clearest, and
sharing no code with ``contrastive_jax.data``.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image

LUMA = np.array([0.299, 0.587, 0.114])


def gray(image: np.ndarray) -> np.ndarray:
    """[H, W, 3] -> [H, W, 1] luma; [H, W, 1] unchanged."""
    if image.shape[-1] == 1:
        return image
    return (image[..., 0] * LUMA[0] + image[..., 1] * LUMA[1] + image[..., 2] * LUMA[2])[..., None]


def brightness(image, factor):
    return np.clip(image * factor, 0, 1)


def contrast(image, factor):
    return np.clip(factor * image + (1 - factor) * gray(image).mean(), 0, 1)


def saturation(image, factor):
    return np.clip(factor * image + (1 - factor) * gray(image), 0, 1)


def hue(image, shift):
    """Rotate hue pixel by pixel with the standard library's colorsys."""
    if image.shape[-1] == 1:
        return image
    out = np.empty_like(image)
    for index in np.ndindex(image.shape[:2]):
        h, s, v = colorsys.rgb_to_hsv(*image[index])
        out[index] = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
    return out


def jitter(image, order, factors, hue_shift):
    """Apply ops in ``order`` (0 brightness, 1 contrast, 2 saturation, 3 hue) one after another."""
    ops = {0: lambda x: brightness(x, factors[0]), 1: lambda x: contrast(x, factors[1]),
           2: lambda x: saturation(x, factors[2]), 3: lambda x: hue(x, hue_shift)}
    for op in order:
        image = ops[int(op)](image)
    return image


def resized_crop(image, top, left, height, width, out_h, out_w):
    """Crop with NumPy, then resize each channel with PIL's float ("F") bilinear resampler."""
    crop = image[top:top + height, left:left + width]
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(crop[..., c], dtype=np.float32))
                           .resize((out_w, out_h), Image.BILINEAR))
                for c in range(image.shape[-1])]
    return np.stack(channels, axis=-1)


def blur(image, sigma, kernel_size):
    """Direct 2-D convolution with the outer-product Gaussian and NumPy reflect padding."""
    radius = kernel_size // 2
    x = np.arange(kernel_size) - radius
    taps = np.exp(-0.5 * (x / sigma) ** 2)
    kernel = np.outer(taps, taps)
    kernel /= kernel.sum()
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    out = np.zeros_like(image, dtype=np.float64)
    height, width = image.shape[:2]
    for dy in range(kernel_size):
        for dx in range(kernel_size):
            out += kernel[dy, dx] * padded[dy:dy + height, dx:dx + width]
    return out
