"""Host-side image work for variable-size sources (NumPy and PIL only, no JAX).

Sources whose images vary in size (``SourceInfo.variable_size``: an image folder, imagenet2012)
cannot be batched as they are. On the host, in the grain pipeline, every training record
becomes V random-resized crops of one fixed size ``S`` (``crop_views``), and every evaluation
record the standard resize + centre crop (``eval_transform``). The rest of the augmentation
(flip, colour, blur, solarize) stays on device in the jitted step.

All randomness comes from a ``np.random.Generator`` handed in, so the pipeline can make it a
pure function of (seed, position in the stream) and bitwise resume holds.
"""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Callable

import numpy as np
from PIL import Image

EVAL_CROP_FRACTION = 0.875  # centre crop S of the shorter side resized to S / 0.875 (224 of 256)


class DecodeError(ValueError):
    """An image file or buffer that PIL cannot decode."""


def to_channels(image: Image.Image, channels: int) -> Image.Image:
    """``image`` in mode "RGB" (channels=3) or "L" (channels=1), whatever its mode (L, LA, P,
    RGBA, I;16, CMYK, ...). Alpha is dropped, not composited; palettes are expanded."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}.")
    mode = "RGB" if channels == 3 else "L"
    if image.mode == mode:
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit / 32-bit grayscale: scale to 8 bits before any other conversion.
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode != "F" and array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    return image.convert(mode)


def open_image(data, *, name: str | None = None) -> Image.Image:
    """A PIL image from encoded bytes, a file path or a uint8 array ([H, W], [H, W, C]).

    Raises ``DecodeError`` (naming ``name``, by default the path or "image") when the data is not a decodable image; the pixels
    are fully decoded here, so a truncated file fails now, not later."""
    if isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim in (2, 3):
        array = data[..., 0] if data.ndim == 3 and data.shape[-1] == 1 else data
        return Image.fromarray(np.ascontiguousarray(array))
    if name is None:
        name = "image" if isinstance(data, (bytes, bytearray, memoryview)) else str(data)
    try:
        if isinstance(data, (bytes, bytearray, memoryview)):
            image = Image.open(io.BytesIO(bytes(data)))
        else:
            image = Image.open(data)
        image.load()
    except Exception as error:  # PIL raises OSError, SyntaxError, ValueError, ...
        raise DecodeError(f"{name}: cannot decode as an image ({type(error).__name__}: "
                          f"{error}).") from error
    return image


def decode(data, channels: int = 3, *, name: str | None = None) -> np.ndarray:
    """uint8 [H, W, channels] pixels of an encoded image, a path or an array."""
    array = np.asarray(to_channels(open_image(data, name=name), channels), dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def sample_crop_box(rng: np.random.Generator, height: int, width: int, *,
                    scale: tuple[float, float] = (0.08, 1.0),
                    ratio: tuple[float, float] = (3 / 4, 4 / 3),
                    tries: int = 10) -> tuple[int, int, int, int]:
    """A random-resized-crop box ``(top, left, h, w)`` inside an ``height x width`` image.

    The Inception-style sampler (Szegedy et al. 2015, as torchvision's RandomResizedCrop):
    up to ``tries`` times draw an area fraction ``s ~ U(scale)`` and a log-uniform aspect
    ``r = exp(U(log ratio))``; the box is ``w = round(sqrt(s H W r))``, ``h = round(sqrt(s H W
    / r))``, accepted if ``0 < w <= W`` and ``0 < h <= H``, then placed uniformly:
    ``top ~ U{0..H-h}``, ``left ~ U{0..W-w}``. If no try fits, the fallback is a centred box
    of the whole image clamped to the ratio range: ``w = W, h = round(W / min(ratio))`` when
    ``W / H < min(ratio)``; ``h = H, w = round(H max(ratio))`` when ``W / H > max(ratio)``;
    else the whole image.
    """
    area = height * width
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(tries):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(log_low, log_high))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


def _as_array(image: Image.Image) -> np.ndarray:
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


@dataclasses.dataclass(frozen=True)
class HostCrop:
    """The host half of a variable-size training pipeline: ``len(scales)`` views per record,
    view v a random resized crop with area fraction range ``scales[v]`` and aspect range
    ``ratios[v]``, resized to ``size``; ``flip_p`` flips each view on the host (0: leave flips
    to the device augmentation, the default)."""

    size: int
    scales: tuple[tuple[float, float], ...]
    ratios: tuple[tuple[float, float], ...]
    channels: int = 3
    flip_p: float = 0.0

    def __post_init__(self):
        if len(self.scales) != len(self.ratios) or not self.scales:
            raise ValueError(f"HostCrop needs one (scale, ratio) per view, got {self.scales} "
                             f"and {self.ratios}.")

    @property
    def num_views(self) -> int:
        return len(self.scales)


def crop_views(image, crop: HostCrop, rng: np.random.Generator) -> np.ndarray:
    """uint8 [V, S, S, C]: ``crop.num_views`` random resized crops (and optional flips) of one
    image: an array, encoded bytes, or a PIL image (an opened, not yet decoded JPEG is decoded
    at a reduced size when every crop allows it, see ``draft_factor``). Draws, in order: the V
    crop boxes, then V uniforms for the flips."""
    picture = image if isinstance(image, Image.Image) else open_image(image)
    width, height = picture.size
    boxes = [sample_crop_box(rng, height, width, scale=scale, ratio=ratio)
             for scale, ratio in zip(crop.scales, crop.ratios)]
    flips = rng.uniform(size=crop.num_views) < crop.flip_p
    picture, boxes = _decode_for_boxes(picture, boxes, crop.size)
    picture = to_channels(picture, crop.channels)
    views = np.empty((crop.num_views, crop.size, crop.size, crop.channels), np.uint8)
    for v, box in enumerate(boxes):
        view = _as_array(picture.resize((crop.size, crop.size), resample=Image.BILINEAR,
                                        box=box))
        views[v] = view[:, ::-1] if flips[v] else view
    return views


def draft_factor(boxes, size: int) -> int:
    """The JPEG DCT reduction (1, 2, 4 or 8) that keeps every ``(top, left, h, w)`` box at
    least ``size`` pixels on its shorter side: the largest power of two <= min side / size."""
    smallest = min(min(h, w) for _, _, h, w in boxes)
    factor = 1
    while factor < 8 and smallest // (factor * 2) >= size:
        factor *= 2
    return factor


def _decode_for_boxes(picture: Image.Image, boxes, size: int):
    """Decode ``picture`` (at 1/``draft_factor`` scale if it is an undecoded JPEG) and return
    it with the boxes as PIL ``(left, upper, right, lower)`` in its decoded coordinates."""
    width, height = picture.size
    lazy = bool(getattr(picture, "tile", None)) and picture.format == "JPEG"  # not decoded
    factor = draft_factor(boxes, size) if lazy else 1
    if factor > 1:
        picture.draft(None, (-(-width // factor), -(-height // factor)))
    try:
        picture.load()
    except Exception as error:
        raise DecodeError(f"{getattr(picture, 'filename', '') or 'image'}: cannot decode as an "
                          f"image ({type(error).__name__}: {error}).") from error
    sx, sy = picture.size[0] / width, picture.size[1] / height
    return picture, [(left * sx, top * sy, (left + w) * sx, (top + h) * sy)
                     for top, left, h, w in boxes]


def center_crop(image, size: int, channels: int = 3,
                crop_fraction: float = EVAL_CROP_FRACTION) -> np.ndarray:
    """uint8 [size, size, channels]: the evaluation view. The shorter side is resized to
    ``round(size / crop_fraction)`` (bilinear, aspect kept), then the central ``size x size``
    window is cut (top-left corner at ``floor((H' - size) / 2), floor((W' - size) / 2)``)."""
    picture = to_channels(open_image(image), channels)
    short = max(size, int(round(size / crop_fraction)))
    width, height = picture.size
    if width <= height:
        new_w, new_h = short, max(short, int(round(height * short / width)))
    else:
        new_w, new_h = max(short, int(round(width * short / height))), short
    resized = picture.resize((new_w, new_h), resample=Image.BILINEAR)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return _as_array(resized.crop((left, top, left + size, top + size)))


def eval_transform(info) -> Callable[[dict], dict] | None:
    """The per-record host transform of an evaluation loader: None for a fixed-size source
    (records are already ``info.image_shape``); for ``info.variable_size`` a function mapping
    ``{"image": any size, ...}`` to ``{"image": uint8 info.image_shape, ...}`` by
    ``center_crop`` (other keys unchanged)."""
    if not getattr(info, "variable_size", False):
        return None
    size, width, channels = info.image_shape
    if size != width:
        raise ValueError(f"{info.name}: variable-size sources produce square images, got "
                         f"image_shape {info.image_shape}.")

    def transform(record: dict) -> dict:
        return {**record, "image": center_crop(record["image"], size, channels)}

    return transform
