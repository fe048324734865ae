"""On-device augmentation presets: SimCLR, BYOL, weak, multi-crop (SwAV / DINO) and identity.

Each preset is built from static Python keyword arguments and returns a *view sampler*
``views(rng, images) -> tuple[jax.Array, ...]``: ``images`` is float [B, H, W, C] in [0, 1]
(C = 1 or 3; uint8 is accepted and scaled to float32), and each view is [B, h, w, C]. Every
(view, example) gets its own independent random draws and the per-example pipeline is
``vmap``-ed, so the sampler is jit-able: a train step calls
``AUGMENTATIONS.build(name, **kwargs)(rng, images)`` inside ``jax.jit``.
Lists are accepted wherever a tuple is (ml_collections hands lists).

The single-image ops live in ``augment_geometry``, ``augment_color`` and ``augment_blur`` and
are re-exported here.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from contrastive_jax.data.augment_blur import (
    BLUR_UNIFORMS, blur_with_sigma, gaussian_blur, gaussian_blur_from_uniforms)
from contrastive_jax.data.augment_color import (
    JITTER_UNIFORMS, adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation,
    color_jitter, color_jitter_from_uniforms, grayscale_if, hsv_to_rgb, random_grayscale,
    rgb_to_grayscale, rgb_to_hsv, solarize, solarize_if)
from contrastive_jax.data.augment_geometry import (
    CROP_UNIFORMS, as_size, flip_if, horizontal_flip, random_resized_crop,
    random_resized_crop_from_uniforms, resized_crop, sample_crop_box)

__all__ = [
    "ViewRecipe", "ViewSampler", "MultiCropSampler", "augment_example",
    "augment_example_from_uniforms", "NUM_UNIFORMS", "identity_preset", "simclr", "byol", "weak",
    "multicrop", "random_resized_crop", "resized_crop", "sample_crop_box", "horizontal_flip",
    "color_jitter", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
    "rgb_to_hsv", "hsv_to_rgb", "rgb_to_grayscale", "random_grayscale", "gaussian_blur",
    "blur_with_sigma", "solarize",
]

SIMCLR_JITTER = (0.8, 0.8, 0.8, 0.2)  # brightness, contrast, saturation, hue at strength 1
BYOL_JITTER = (0.4, 0.4, 0.2, 0.1)


@dataclasses.dataclass(frozen=True)
class ViewRecipe:
    """The static settings of one view's random pipeline, applied in field order.

    crop_scale=None skips the random crop (the image is only resized if out_size differs);
    out_size=None keeps the input size. jitter = (brightness, contrast, saturation, hue).
    """

    out_size: tuple[int, int] | None = None
    crop_scale: tuple[float, float] | None = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    jitter_p: float = 0.0
    grayscale_p: float = 0.0
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_kernel_size: int | None = None
    solarize_p: float = 0.0


_DRAWS = (("crop", CROP_UNIFORMS[0] * CROP_UNIFORMS[1]), ("flip", 1),
          ("jitter", JITTER_UNIFORMS), ("gray", 1), ("blur", BLUR_UNIFORMS), ("solarize", 1))


def _split_draws(uniforms: jax.Array) -> dict[str, jax.Array]:
    draws, start = {}, 0
    for name, size in _DRAWS:
        draws[name] = uniforms[start:start + size]
        start += size
    return draws


NUM_UNIFORMS = sum(size for _, size in _DRAWS)


def augment_example_from_uniforms(uniforms: jax.Array, image: jax.Array,
                                  recipe: ViewRecipe) -> jax.Array:
    """``augment_example`` given its draws: uniforms in [0, 1) of shape ``[NUM_UNIFORMS]``."""
    draws = _split_draws(uniforms)
    out_size = image.shape[:2] if recipe.out_size is None else recipe.out_size
    if recipe.crop_scale is not None:
        image = random_resized_crop_from_uniforms(
            draws["crop"].reshape(CROP_UNIFORMS), image, out_size=out_size,
            scale=recipe.crop_scale, ratio=recipe.crop_ratio)
    elif tuple(out_size) != image.shape[:2]:
        image = resized_crop(image, 0, 0, image.shape[0], image.shape[1], out_size)
    if recipe.flip_p > 0:
        image = flip_if(draws["flip"][0] < recipe.flip_p, image)
    if recipe.jitter_p > 0 and any(recipe.jitter):
        brightness, contrast, saturation, hue = recipe.jitter
        image = color_jitter_from_uniforms(
            draws["jitter"], image, brightness=brightness, contrast=contrast,
            saturation=saturation, hue=hue, p=recipe.jitter_p)
    image = grayscale_if(draws["gray"][0], image, p=recipe.grayscale_p)
    image = gaussian_blur_from_uniforms(draws["blur"], image, sigma=recipe.blur_sigma,
                                        kernel_size=recipe.blur_kernel_size, p=recipe.blur_p)
    return solarize_if(draws["solarize"][0], image, p=recipe.solarize_p)


def augment_example(rng: jax.Array, image: jax.Array, recipe: ViewRecipe) -> jax.Array:
    """One random view of one image. image: [H, W, C] in [0, 1] -> [h, w, C], same dtype."""
    return augment_example_from_uniforms(jax.random.uniform(rng, (NUM_UNIFORMS,)), image, recipe)


def _as_float_images(images: jax.Array, ndim: int = 4) -> jax.Array:
    images = jnp.asarray(images)
    if images.ndim != ndim or images.shape[-1] not in (1, 3):
        layout = "[B, H, W, C]" if ndim == 4 else "[B, V, H, W, C]"
        raise ValueError(f"Expected images {layout} with C = 1 or 3, got {images.shape}.")
    if jnp.issubdtype(images.dtype, jnp.integer):
        return images.astype(jnp.float32) / 255.0
    return images


@dataclasses.dataclass(frozen=True)
class ViewSampler:
    """``views(rng, images[B, H, W, C]) -> tuple of V views [B, h_v, w_v, C]``; one recipe per view.

    ``recipes=None`` entries mean "the image unchanged" (identity views). Pre-cropped views
    ``images[B, V, H, W, C]`` (5-D, from the host crop of a variable-size source) are accepted
    too: view v is ``images[:, v]`` through recipe v with its random crop skipped (flip, colour,
    blur and solarize as usual; resized only if the recipe's ``out_size`` differs).
    """

    recipes: tuple[ViewRecipe | None, ...]

    @property
    def num_views(self) -> int:
        return len(self.recipes)

    def __call__(self, rng: jax.Array, images: jax.Array) -> tuple[jax.Array, ...]:
        if jnp.ndim(images) == 5:
            return self._pre_cropped(rng, _as_float_images(images, ndim=5))
        images = _as_float_images(images)
        # One draw gives every (view, example) its own row of uniforms: equivalent to a key per
        # example, but a single RNG call site (each threefry site costs seconds of XLA:CPU
        # compile time).
        if all(recipe is None for recipe in self.recipes):
            return (images,) * self.num_views
        return self._grouped(rng, self.recipes, images.shape[0],
                             lambda indices: (images, None))

    def _grouped(self, rng, recipes, batch: int, inputs) -> tuple[jax.Array, ...]:
        """Views with the same recipe are traced once, vmapped over (view, example);
        ``inputs(indices) -> (images, view_axis)`` gives their images (view_axis None: shared)."""
        uniforms = jax.random.uniform(rng, (self.num_views, batch, NUM_UNIFORMS))
        views: list[jax.Array | None] = [None] * self.num_views
        for recipe in dict.fromkeys(recipes):
            indices = [i for i, r in enumerate(recipes) if r == recipe]
            images, view_axis = inputs(indices)
            if recipe is None:
                for position, i in enumerate(indices):
                    views[i] = images if view_axis is None else images[position]
                continue
            per_example = jax.vmap(lambda u, x: augment_example_from_uniforms(u, x, recipe))
            grouped = jax.vmap(per_example, in_axes=(0, view_axis))(
                uniforms[jnp.asarray(indices)], images)
            for position, i in enumerate(indices):
                views[i] = grouped[position]
        return tuple(views)

    def _pre_cropped(self, rng: jax.Array, images: jax.Array) -> tuple[jax.Array, ...]:
        if images.shape[1] != self.num_views:
            raise ValueError(f"Pre-cropped images carry {images.shape[1]} views per example, "
                             f"but the augmentation makes {self.num_views}.")
        recipes = tuple(None if r is None else dataclasses.replace(r, crop_scale=None)
                        for r in self.recipes)
        if all(recipe is None for recipe in recipes):
            return tuple(images[:, v] for v in range(self.num_views))
        by_view = jnp.moveaxis(images, 1, 0)  # [V, B, H, W, C]
        return self._grouped(rng, recipes, images.shape[0],
                             lambda indices: (by_view[jnp.asarray(indices)], 0))


# --- argument checks: presets fail at build time, before anything is traced ---------------


def _interval(value: Sequence[float], name: str, low: float = 0.0, high: float = 1.0):
    pair = tuple(float(v) for v in value)
    if len(pair) != 2 or not low < pair[0] <= pair[1] <= high:
        raise ValueError(f"{name} must be a pair (a, b) with {low} < a <= b <= {high}, got {value}.")
    return pair


def _probability(value: float, name: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}.")
    return float(value)


def _size_or_none(value) -> tuple[int, int] | None:
    if value is None:
        return None
    size = as_size(value)
    if min(size) < 1:
        raise ValueError(f"out_size must be positive, got {value}.")
    return size


def _count(value: int, name: str, minimum: int = 1) -> int:
    if int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def _jitter(strengths: Sequence[float]) -> tuple[float, float, float, float]:
    values = tuple(float(v) for v in strengths)
    if len(values) != 4 or min(values) < 0 or values[3] > 0.5:
        raise ValueError(f"jitter must be (brightness, contrast, saturation, hue) >= 0 with "
                         f"hue <= 0.5, got {strengths}.")
    return values


# --- presets ----------------------------------------------------------------------------


def identity_preset(num_views: int = 2) -> ViewSampler:
    """``num_views`` copies of the unchanged images (for debugging and supervised baselines)."""
    return ViewSampler((None,) * _count(num_views, "num_views"))


def simclr(*, num_views: int = 2, crop_scale: Sequence[float] = (0.08, 1.0),
           crop_ratio: Sequence[float] = (3 / 4, 4 / 3), out_size=None, flip: bool = True,
           jitter_strength: float = 1.0, jitter_p: float = 0.8, grayscale_p: float = 0.2,
           blur_p: float = 0.5, blur_sigma: Sequence[float] = (0.1, 2.0)) -> ViewSampler:
    """SimCLR views (Chen et al., "A Simple Framework for Contrastive Learning", 2020, App. A).

    All views share one distribution: random resized crop, flip, colour jitter with strength s
    (0.8s, 0.8s, 0.8s, 0.2s; p = 0.8), grayscale (p = 0.2), blur (p = 0.5; the CIFAR setting
    uses blur_p=0).
    """
    jitter = _jitter(tuple(jitter_strength * s for s in SIMCLR_JITTER))
    recipe = ViewRecipe(
        out_size=_size_or_none(out_size), crop_scale=_interval(crop_scale, "crop_scale"),
        crop_ratio=_interval(crop_ratio, "crop_ratio", high=float("inf")),
        flip_p=0.5 if flip else 0.0, jitter=jitter, jitter_p=_probability(jitter_p, "jitter_p"),
        grayscale_p=_probability(grayscale_p, "grayscale_p"),
        blur_p=_probability(blur_p, "blur_p"), blur_sigma=_interval(blur_sigma, "blur_sigma",
                                                                    high=float("inf")))
    return ViewSampler((recipe,) * _count(num_views, "num_views"))


def byol(*, crop_scale: Sequence[float] = (0.08, 1.0), out_size=None, flip: bool = True,
         jitter: Sequence[float] = BYOL_JITTER, jitter_p: float = 0.8, grayscale_p: float = 0.2,
         blur_p: Sequence[float] = (1.0, 0.1), solarize_p: Sequence[float] = (0.0, 0.2),
         blur_sigma: Sequence[float] = (0.1, 2.0)) -> ViewSampler:
    """BYOL's two asymmetric views (Grill et al., "Bootstrap Your Own Latent", 2020, Table 6).

    Both: crop, flip, jitter (0.4, 0.4, 0.2, 0.1; p = 0.8), grayscale (p = 0.2). View 1 is
    always blurred and never solarized; view 2 is blurred with p = 0.1 and solarized with 0.2.
    """
    if len(blur_p) != 2 or len(solarize_p) != 2:
        raise ValueError(f"blur_p and solarize_p give one value per view, got {blur_p}, "
                         f"{solarize_p}.")
    shared = dict(out_size=_size_or_none(out_size), crop_scale=_interval(crop_scale, "crop_scale"),
                  flip_p=0.5 if flip else 0.0, jitter=_jitter(jitter),
                  jitter_p=_probability(jitter_p, "jitter_p"),
                  grayscale_p=_probability(grayscale_p, "grayscale_p"),
                  blur_sigma=_interval(blur_sigma, "blur_sigma", high=float("inf")))
    return ViewSampler(tuple(
        ViewRecipe(**shared, blur_p=_probability(b, "blur_p"),
                   solarize_p=_probability(s, "solarize_p"))
        for b, s in zip(blur_p, solarize_p)))


def weak(*, num_views: int = 2, crop_scale: Sequence[float] = (0.5, 1.0), out_size=None,
         flip: bool = True) -> ViewSampler:
    """Weak views: a mild random resized crop and a horizontal flip, no colour changes."""
    recipe = ViewRecipe(out_size=_size_or_none(out_size),
                        crop_scale=_interval(crop_scale, "crop_scale"), flip_p=0.5 if flip else 0.0)
    return ViewSampler((recipe,) * _count(num_views, "num_views"))


def multicrop(*, out_size=None, local_size=None, num_global: int = 2, num_local: int = 6,
              global_scale: Sequence[float] = (0.14, 1.0),
              local_scale: Sequence[float] = (0.05, 0.14), flip: bool = True,
              jitter: Sequence[float] = BYOL_JITTER, jitter_p: float = 0.8,
              grayscale_p: float = 0.2, blur_p: float = 0.5) -> ViewSampler:
    """Multi-crop (Caron et al., SwAV 2020; DINO 2021): global crops then smaller local crops.

    Returns ``num_global`` views at ``out_size`` (None: input size) followed by ``num_local``
    views at ``local_size`` (None: 96/224 of ``out_size``, SwAV's ratio, resolved at call time).
    Every crop gets flip, colour jitter, grayscale and blur as in SwAV.
    """
    shared = dict(flip_p=0.5 if flip else 0.0, jitter=_jitter(jitter),
                  jitter_p=_probability(jitter_p, "jitter_p"),
                  grayscale_p=_probability(grayscale_p, "grayscale_p"),
                  blur_p=_probability(blur_p, "blur_p"))
    global_recipe = ViewRecipe(out_size=_size_or_none(out_size),
                               crop_scale=_interval(global_scale, "global_scale"), **shared)
    local_recipe = ViewRecipe(out_size=_size_or_none(local_size),
                              crop_scale=_interval(local_scale, "local_scale"), **shared)
    recipes = ((global_recipe,) * _count(num_global, "num_global")
               + (local_recipe,) * _count(num_local, "num_local", minimum=0))
    return MultiCropSampler(recipes, num_global=_count(num_global, "num_global"))


@dataclasses.dataclass(frozen=True)
class MultiCropSampler(ViewSampler):
    """A ViewSampler whose local views (after the first ``num_global``) default to 96/224 of the
    global size when their ``out_size`` is None."""

    num_global: int = 2

    def __call__(self, rng: jax.Array, images: jax.Array) -> tuple[jax.Array, ...]:
        images = _as_float_images(images, ndim=5 if jnp.ndim(images) == 5 else 4)
        global_size = self.recipes[0].out_size or images.shape[-3:-1]
        local_default = tuple(max(1, round(s * 96 / 224)) for s in global_size)
        recipes = tuple(
            r if i < self.num_global or r.out_size is not None
            else dataclasses.replace(r, out_size=local_default)
            for i, r in enumerate(self.recipes))
        return ViewSampler(recipes)(rng, images)
