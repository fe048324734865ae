"""Throughput of the SimCLR augmentation recipe: on-device JAX (jit + vmap) vs host NumPy/PIL.

    python -m benchmarks.augment_throughput [--batch_size=512] [--repeats=5]

Both sides produce two views of every image of a batch with the same recipe (random resized
crop, flip, colour jitter p=0.8 in random order, grayscale p=0.2, Gaussian blur p=0.5) on the
same CPU in one process; the host side is the usual per-image PIL pipeline (crop+resize,
transpose, ImageEnhance, HSV hue shift, convert("L"), ImageFilter.GaussianBlur) in one Python
thread, as a single data-loader worker runs it. Prints one JSON object: images/s (an image
counts once, with its two views) for each side at 28x28x1 and 32x32x3, their ratio and the JAX
compile time (not included in the rate).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from contrastive_jax.data import augment

JITTER = (0.8, 0.8, 0.8, 0.2)  # SimCLR strength 1
SHAPES = ((28, 28, 1), (32, 32, 3))


# --- the host-side reference pipeline ------------------------------------------------------


def _crop_box(rng: np.random.Generator, height: int, width: int, scale=(0.08, 1.0),
              ratio=(3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    for _ in range(10):
        area = height * width * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        box_w, box_h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < box_w <= width and 0 < box_h <= height:
            top = int(rng.integers(0, height - box_h + 1))
            left = int(rng.integers(0, width - box_w + 1))
            return top, left, box_h, box_w
    return 0, 0, height, width


def _shift_hue(image: Image.Image, shift: float) -> Image.Image:
    hue, saturation, value = image.convert("HSV").split()
    rotated = (np.asarray(hue, np.int16) + int(round(shift * 255))) % 256
    return Image.merge("HSV", (Image.fromarray(rotated.astype(np.uint8)), saturation,
                               value)).convert("RGB")


def _jitter(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    factors = [rng.uniform(max(0, 1 - s), 1 + s) for s in JITTER[:3]]
    shift = rng.uniform(-JITTER[3], JITTER[3])
    ops = [lambda x: ImageEnhance.Brightness(x).enhance(factors[0]),
           lambda x: ImageEnhance.Contrast(x).enhance(factors[1])]
    if image.mode == "RGB":  # saturation and hue do nothing to a gray image
        ops += [lambda x: ImageEnhance.Color(x).enhance(factors[2]),
                lambda x: _shift_hue(x, shift)]
    for index in rng.permutation(len(ops)):
        image = ops[index](image)
    return image


def host_view(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """One SimCLR view of one uint8 [H, W, C] image with PIL; float32 [H, W, C] in [0, 1]."""
    height, width, channels = image.shape
    pil = Image.fromarray(image[..., 0] if channels == 1 else image)
    top, left, box_h, box_w = _crop_box(rng, height, width)
    pil = pil.resize((width, height), Image.BILINEAR, box=(left, top, left + box_w, top + box_h))
    if rng.uniform() < 0.5:
        pil = pil.transpose(Image.FLIP_LEFT_RIGHT)
    if rng.uniform() < 0.8:
        pil = _jitter(rng, pil)
    if channels == 3 and rng.uniform() < 0.2:
        pil = pil.convert("L").convert("RGB")
    if rng.uniform() < 0.5:
        pil = pil.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.1, 2.0)))
    out = np.asarray(pil, np.float32) / 255.0
    return out.reshape(height, width, channels)


def host_views(rng: np.random.Generator, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return tuple(np.stack([host_view(rng, image) for image in images]) for _ in range(2))


# --- timing --------------------------------------------------------------------------------


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(shape: tuple[int, int, int], batch_size: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size, *shape), dtype=np.uint8)
    device_images = jnp.asarray(images, jnp.float32) / 255.0
    views = jax.jit(augment.simclr(blur_p=0.5))
    keys = iter(jax.random.split(jax.random.key(0), repeats + 1))

    start = time.perf_counter()
    jax.block_until_ready(views(next(keys), device_images))
    compile_s = time.perf_counter() - start
    jax_s = _median_seconds(lambda: jax.block_until_ready(views(next(keys), device_images)),
                            repeats)
    host_s = _median_seconds(lambda: host_views(rng, images), repeats)
    return {
        "shape": list(shape),
        "batch_size": batch_size,
        "jax_images_per_s": round(batch_size / jax_s),
        "host_pil_images_per_s": round(batch_size / host_s),
        "ratio_jax_over_host": round(host_s / jax_s, 2),
        "jax_compile_s": round(compile_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = [measure(shape, args.batch_size, args.repeats) for shape in SHAPES]
    print(json.dumps({
        "benchmark": "simclr_augment_throughput",
        "recipe": "crop(0.08,1)+flip+jitter(0.8,0.8,0.8,0.2;p=.8)+gray(p=.2)+blur(p=.5), 2 views",
        "backend": jax.default_backend(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "jax_version": jax.__version__,
        "results": results,
        "goal": "jax at least 2x the host pipeline",
        "goal_met": all(r["ratio_jax_over_host"] >= 2 for r in results),
    }, indent=2))


if __name__ == "__main__":
    main()
