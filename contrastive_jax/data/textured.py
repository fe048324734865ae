"""``textured:<source>``: digits composited on natural textures, the texture a nuisance
independent of the label (the feature-suppression setting of "Can contrastive learning avoid
shortcut solutions?", Robinson et al., 2021, and of MCL's texture experiments).

    DATASETS.build("textured:mnist5k", "train")   # records gain "texture_label": int32 []

Each example ``i`` of a split gets a texture ``t_i`` drawn uniformly from ``textures``
(scikit-image's bundled grayscale texture photos, which load offline), independently of its
digit, and a random ``H x W`` window of that texture, resized first so a window spans a
quarter of the texture's side (``4 H`` pixels). With the digit's intensity as the mask
``a = digit / 255``, the composite is

    image = (1 - a) * texture_max * window + a * 255

(``texture_max = 0.7``: the digit stays the brightest thing in the image). Both choices come
from ``numpy.random.default_rng((TEXTURE_SEED, crc32(split)))``: the composites are part of
the data set, fixed like the train / held-out split, so every run and seed sees the same
images. ``extra_labels = {"texture": int32 [N]}`` and ``extra_label_classes = {"texture": T}``
let the evaluation probe the texture as well as the digit (``train.final_eval``).
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from typing import Sequence

import numpy as np

TEXTURE_SEED = 4321
DEFAULT_TEXTURES = ("brick", "grass", "gravel")
TEXTURE_MAX = 0.7


@functools.cache
def load_texture(name: str, size: int) -> np.ndarray:
    """float32 [size', size'] in [0, 1]: ``skimage.data.<name>()`` as grayscale, resized so
    its shorter side is ``size`` (anti-aliased)."""
    import skimage.data
    import skimage.transform

    try:
        image = getattr(skimage.data, name)()
    except AttributeError:
        raise ValueError(f"skimage.data has no image {name!r}; textures that load offline: "
                         f"brick, grass, gravel, ...") from None
    image = np.asarray(image, np.float32)
    if image.ndim == 3:
        image = image[..., :3].mean(axis=-1)
    image = image / max(float(image.max()), 1.0)
    scale = size / min(image.shape)
    shape = (max(size, round(image.shape[0] * scale)), max(size, round(image.shape[1] * scale)))
    return skimage.transform.resize(image, shape, anti_aliasing=True).astype(np.float32)


def composite(digits: np.ndarray, windows: np.ndarray, texture_max: float = TEXTURE_MAX
              ) -> np.ndarray:
    """uint8 [N, H, W, 1]: ``(1 - a) * texture_max * window + a`` with ``a = digit / 255``.
    digits: uint8 [N, H, W, 1]; windows: float [N, H, W] in [0, 1]."""
    alpha = digits[..., 0].astype(np.float32) / 255.0
    image = (1.0 - alpha) * texture_max * windows + alpha
    return np.round(255.0 * np.clip(image, 0.0, 1.0)).astype(np.uint8)[..., None]


class TexturedSource:
    """A grayscale labelled source whose digits sit on texture windows (module docstring).

    Records: ``{"image": uint8 [H, W, 1], "label": int32 [] (the digit), "texture_label":
    int32 []}``.
    """

    def __init__(self, base, split: str, *, textures: Sequence[str] = DEFAULT_TEXTURES,
                 texture_max: float = TEXTURE_MAX):
        info = base.info
        height, width, channels = info.image_shape
        if channels != 1:
            raise ValueError(f"textured:{info.name} needs a grayscale source, got {channels} "
                             f"channels.")
        if not hasattr(base, "as_arrays"):
            raise ValueError(f"textured:{info.name} needs an in-memory source (mnist5k, digits: "
                             f"one with as_arrays()).")
        arrays = base.as_arrays()
        digits, self.labels = arrays["image"], np.asarray(arrays["label"], np.int32)
        self.textures = tuple(textures)
        rng = np.random.default_rng((TEXTURE_SEED, zlib.crc32(split.encode())))
        self.texture_labels = rng.integers(0, len(self.textures), len(digits)).astype(np.int32)
        planes = [load_texture(name, 4 * max(height, width)) for name in self.textures]
        windows = np.empty((len(digits), height, width), np.float32)
        for i, t in enumerate(self.texture_labels):
            plane = planes[t]
            top = rng.integers(0, plane.shape[0] - height + 1)
            left = rng.integers(0, plane.shape[1] - width + 1)
            windows[i] = plane[top:top + height, left:left + width]
        self.images = composite(digits, windows, texture_max)
        self.info = dataclasses.replace(info, name=f"textured:{info.name}")
        self.extra_labels = {"texture": self.texture_labels}
        self.extra_label_classes = {"texture": len(self.textures)}

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {"image": self.images[index], "label": self.labels[index],
                "texture_label": self.texture_labels[index]}

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {"image": self.images, "label": self.labels,
                "texture_label": self.texture_labels}

    def __repr__(self) -> str:
        return f"TexturedSource({self.info.name}, n={len(self)}, textures={self.textures})"


def textured_source(base_name: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                    textures: Sequence[str] = DEFAULT_TEXTURES,
                    texture_max: float = TEXTURE_MAX) -> TexturedSource:
    """``textured:<base_name>``: the registered grayscale source ``base_name`` (mnist5k,
    digits) composited on ``textures``."""
    from contrastive_jax.data.sources import build_source

    del seed  # the composites are fixed with the data set (TEXTURE_SEED)
    base = build_source(base_name, split, data_dir=data_dir)
    return TexturedSource(base, split, textures=textures, texture_max=texture_max)
