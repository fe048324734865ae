"""Single-image augmentation ops against NumPy / PIL / colorsys references and identity cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage

from contrastive_jax.data import augment
from contrastive_jax.data import augment_color
from tests.data import reference


def key(seed):
    """A PRNG key. The ops work with any key type; "rbg" keys compile ~10x faster than threefry
    on XLA:CPU, which keeps this file quick (the preset tests use default keys)."""
    return jax.random.key(seed, impl="rbg")


def _image(seed=0, shape=(12, 12, 3)):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


# --- crop --------------------------------------------------------------------------------


def test_full_box_resize_is_identity():
    image = _image()
    out = jax.jit(lambda x: augment.resized_crop(x, 0, 0, 12, 12, 12))(image)
    np.testing.assert_allclose(out, image, atol=1e-6)


def test_full_scale_square_crop_is_identity():
    image = _image()
    out = jax.jit(lambda k, x: augment.random_resized_crop(k, x, scale=(1.0, 1.0),
                                                           ratio=(1.0, 1.0)))(key(3), image)
    np.testing.assert_allclose(out, image, atol=1e-6)


@pytest.mark.parametrize("box,out_size", [
    ((2, 3, 5, 7), (12, 12)),     # upsampling
    ((0, 1, 12, 10), (5, 4)),     # antialiased downsampling
    ((4, 0, 6, 12), (6, 9)),      # mixed
])
def test_resized_crop_matches_pil(box, out_size):
    image = _image(1)
    out = jax.jit(augment.resized_crop, static_argnums=5)(image, *box, out_size)
    expected = reference.resized_crop(image, *box, *out_size)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_crop_boxes_lie_inside_and_follow_scale_and_ratio():
    keys = jax.random.split(key(0), 500)
    boxes = np.asarray(jax.jit(jax.vmap(lambda k: augment.sample_crop_box(
        k, 40, 30, scale=(0.2, 0.6), ratio=(0.5, 2.0))))(keys))
    top, left, height, width = boxes.T
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + height <= 40).all() and (left + width <= 30).all()
    area = height * width / (40 * 30)
    # rounding each side to whole pixels moves the area by at most about one row and column
    assert area.min() >= 0.2 - 0.06 and area.max() <= 0.6 + 0.06
    aspect = width / height
    assert aspect.min() >= 0.5 * 0.8 and aspect.max() <= 2.0 * 1.25
    assert len(np.unique(boxes, axis=0)) > 100  # boxes are random, not a few fixed ones


def test_crop_falls_back_to_centre_box_when_no_try_fits():
    # area 100% with aspect 2 never fits a square: torchvision's fallback is the centred
    # full-width box of height round(10 / 2).
    keys = jax.random.split(key(1), 20)
    boxes = jax.jit(jax.vmap(lambda k: augment.sample_crop_box(k, 10, 10, scale=(1.0, 1.0),
                                                               ratio=(2.0, 2.0))))(keys)
    np.testing.assert_array_equal(boxes, np.tile([2, 0, 5, 10], (20, 1)))


def test_horizontal_flip():
    image = _image()
    np.testing.assert_array_equal(augment.horizontal_flip(key(0), image, p=1.0),
                                  image[:, ::-1])
    np.testing.assert_array_equal(augment.horizontal_flip(key(0), image, p=0.0), image)
    keys = jax.random.split(key(2), 400)
    flipped = jax.jit(jax.vmap(lambda k: augment.horizontal_flip(k, image, p=0.5)))(keys)
    rate = np.mean(np.all(np.asarray(flipped) == image[:, ::-1], axis=(1, 2, 3)))
    assert 0.4 < rate < 0.6


# --- colour ------------------------------------------------------------------------------


def test_grayscale_uses_itu_r_601_weights():
    image = _image()
    np.testing.assert_allclose(augment.rgb_to_grayscale(image), reference.gray(image), atol=1e-6)
    pure = np.eye(3, dtype=np.float32)[None]  # one red, one green, one blue pixel
    np.testing.assert_allclose(augment.rgb_to_grayscale(pure)[0, :, 0], [0.299, 0.587, 0.114],
                               atol=1e-7)


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7])
def test_brightness_contrast_saturation_formulas(factor):
    image = _image(2)
    np.testing.assert_allclose(augment.adjust_brightness(image, factor),
                               reference.brightness(image, factor), atol=1e-6)
    np.testing.assert_allclose(augment.adjust_contrast(image, factor),
                               reference.contrast(image, factor), atol=1e-6)
    np.testing.assert_allclose(augment.adjust_saturation(image, factor),
                               reference.saturation(image, factor), atol=1e-6)


def test_brightness_factor_scales_pixels():
    image = np.full((2, 2, 3), 0.4, np.float32)
    np.testing.assert_allclose(augment.adjust_brightness(image, 1.5), 0.6, atol=1e-7)
    np.testing.assert_allclose(augment.adjust_brightness(image, 3.0), 1.0)  # clipped


def test_hsv_round_trip_matches_colorsys():
    pixels = np.concatenate([
        _image(3, (50, 3)),
        np.array([[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 0], [0, 0, 1],
                  [1, 1, 0], [0.2, 0.2, 0.9]], np.float32)])
    hsv = np.asarray(jax.jit(augment.rgb_to_hsv)(pixels))
    expected = np.array([reference.colorsys.rgb_to_hsv(*p) for p in pixels])
    np.testing.assert_allclose(hsv, expected, atol=1e-5)
    np.testing.assert_allclose(jax.jit(augment.hsv_to_rgb)(hsv), pixels, atol=1e-5)


def test_zero_hue_shift_is_identity_and_shift_matches_colorsys():
    image = _image(4, (6, 6, 3))
    adjust_hue = jax.jit(augment.adjust_hue)
    np.testing.assert_allclose(adjust_hue(image, 0.0), image, atol=1e-5)
    np.testing.assert_allclose(adjust_hue(image, 0.3), reference.hue(image, 0.3), atol=1e-5)
    np.testing.assert_allclose(adjust_hue(image, -0.45), reference.hue(image, -0.45), atol=1e-5)


JITTER_IN_ORDER = jax.jit(augment_color.jitter_in_order)


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (1, 3, 0, 2), (2, 0, 3, 1)])
def test_jitter_in_order_matches_sequential_reference(order):
    image = _image(5, (6, 6, 3))
    factors, shift = np.array([1.3, 0.6, 1.8], np.float32), 0.15
    out = JITTER_IN_ORDER(image, jnp.asarray(order), factors, shift)
    np.testing.assert_allclose(out, reference.jitter(image, order, factors, shift), atol=1e-5)


def test_jitter_with_zero_strength_is_identity():
    image = _image(6)
    out = jax.jit(lambda k, x: augment.color_jitter(
        k, x, brightness=0, contrast=0, saturation=0, hue=0, p=1.0))(key(0), image)
    np.testing.assert_allclose(out, image, atol=1e-5)


@pytest.mark.parametrize("order", [(3, 2, 1, 0), (1, 3, 0, 2)])
def test_jitter_on_gray_images_is_brightness_and_contrast_only(order):
    gray = _image(6, (6, 6, 1))
    factors = np.array([1.6, 0.5, 0.1], np.float32)  # saturation 0.1 must have no effect
    out = JITTER_IN_ORDER(gray, jnp.asarray(order), factors, 0.3)
    assert out.shape == gray.shape
    brightness_contrast = [op for op in order if op in (0, 1)]
    np.testing.assert_allclose(out, reference.jitter(gray, brightness_contrast, factors, 0.0),
                               atol=1e-6)


def test_random_grayscale():
    image = _image(7)
    out = augment.random_grayscale(key(0), image, p=1.0)
    np.testing.assert_allclose(out, np.repeat(reference.gray(image), 3, axis=-1), atol=1e-6)
    single = _image(7, (12, 12, 1))
    assert augment.random_grayscale(key(0), single, p=1.0) is single


def test_solarize_closed_form():
    image = np.linspace(0, 1, 48, dtype=np.float32).reshape(4, 4, 3)
    out = augment.solarize(key(0), image, threshold=0.5, p=1.0)
    np.testing.assert_allclose(out, np.where(image >= 0.5, 1 - image, image), atol=1e-7)
    np.testing.assert_array_equal(augment.solarize(key(0), image, p=0.0), image)


# --- blur --------------------------------------------------------------------------------


def test_blur_with_tiny_sigma_is_identity():
    image = _image(8)
    np.testing.assert_allclose(augment.blur_with_sigma(image, 1e-3, 5), image, atol=1e-6)


@pytest.mark.parametrize("sigma,kernel_size", [(0.7, 3), (1.5, 5), (2.0, 7)])
def test_blur_matches_2d_reference(sigma, kernel_size):
    image = _image(9)
    out = augment.blur_with_sigma(image, sigma, kernel_size)
    np.testing.assert_allclose(out, reference.blur(image, sigma, kernel_size), atol=1e-5)
    # and scipy's mirror mode is the same reflect padding
    taps = np.exp(-0.5 * ((np.arange(kernel_size) - kernel_size // 2) / sigma) ** 2)
    kernel = np.outer(taps, taps)[..., None] / np.outer(taps, taps).sum()
    np.testing.assert_allclose(out, scipy.ndimage.convolve(image, kernel, mode="mirror"),
                               atol=1e-5)


def test_blur_keeps_constant_image():
    image = np.full((9, 9, 3), 0.3, np.float32)
    out = jax.jit(lambda k, x: augment.gaussian_blur(k, x, sigma=(1.0, 2.0), kernel_size=5,
                                                     p=1.0))(key(0), image)
    np.testing.assert_allclose(out, image, atol=1e-6)


# --- properties shared by every random op --------------------------------------------------

RANDOM_OPS = {
    "crop": lambda k, x: augment.random_resized_crop(k, x, out_size=(10, 8)),
    "flip": lambda k, x: augment.horizontal_flip(k, x),
    "jitter": lambda k, x: augment.color_jitter(k, x, brightness=0.8, contrast=0.8,
                                                saturation=0.8, hue=0.2, p=0.8),
    "grayscale": lambda k, x: augment.random_grayscale(k, x, p=0.5),
    "blur": lambda k, x: augment.gaussian_blur(k, x, p=0.5),
    "solarize": lambda k, x: augment.solarize(k, x, p=0.5),
}


@pytest.mark.parametrize("name", sorted(RANDOM_OPS))
def test_random_op_is_deterministic_per_key_and_varies_across_keys(name):
    op = jax.jit(jax.vmap(RANDOM_OPS[name]))
    images = np.stack([_image(10)] * 16)
    keys = jax.random.split(key(4), 16)
    first, again = op(keys, images), op(keys, images)
    np.testing.assert_array_equal(first, again)
    assert first.dtype == jnp.float32
    assert first.shape[-1] == 3 and first.shape[0] == 16
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    # the same image under 16 keys gives several distinct results
    distinct = {np.asarray(view).tobytes() for view in first}
    assert len(distinct) > 1
