"""Writers of small image folders for the folder-source tests (PIL, no code under test)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

CORRUPT = b"this is not an image, despite its name"


def write_image(path: str, pixels: np.ndarray, mode: str) -> None:
    """Save uint8 RGB ``pixels`` [H, W, 3] in PIL ``mode`` ("L", "RGB", "RGBA", "P") at
    ``path`` (format from the extension)."""
    image = Image.fromarray(pixels, "RGB")
    if mode == "RGBA":
        image = image.convert("RGBA")
    elif mode != "RGB":
        image = image.convert(mode)
    if path.lower().endswith((".jpg", ".jpeg")) and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image.save(path)


def write_folder(root: str, per_class: dict[str, int], *, seed: int = 0,
                 sizes: tuple[int, int] = (9, 40), corrupt: tuple[str, ...] = ()) -> list[str]:
    """``root/<class>/<i>.<ext>`` random images of mixed sizes, modes and extension cases;
    ``corrupt`` relative paths get garbage bytes. Returns every written path."""
    rng = np.random.default_rng(seed)
    extensions = (".png", ".jpg", ".JPG", ".jpeg", ".PNG")
    modes = ("RGB", "L", "RGBA", "P")
    written = []
    for cls, count in per_class.items():
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for i in range(count):
            h, w = rng.integers(sizes[0], sizes[1] + 1, size=2)
            pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            path = os.path.join(root, cls, f"{i:03d}{extensions[i % len(extensions)]}")
            write_image(path, pixels, modes[(i // 2) % len(modes)])
            written.append(path)
    for relative in corrupt:
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(CORRUPT)
        written.append(path)
    return written
