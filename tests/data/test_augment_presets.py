"""View-sampler presets built through the registry, as the train step builds them (default keys)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax.data import augment
from contrastive_jax.registry import AUGMENTATIONS


def _images(shape=(32, 16, 16, 3), seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def test_registry_lists_every_preset():
    for name in ("none", "simclr", "byol", "weak", "multicrop"):
        assert name in AUGMENTATIONS
        assert callable(AUGMENTATIONS.build(name))
    with pytest.raises(KeyError, match="simclr"):
        AUGMENTATIONS.build("simclr_v3")


def test_identity_returns_the_images_unchanged():
    images = _images()
    views = AUGMENTATIONS.build("none", num_views=3)(jax.random.key(0), images)
    assert len(views) == 3
    for view in views:
        np.testing.assert_array_equal(view, images)


def test_simclr_views_under_jit():
    images = _images()
    sampler = AUGMENTATIONS.build("simclr", blur_p=0.5)
    views = jax.jit(sampler)
    first = views(jax.random.key(0), images)
    again = views(jax.random.key(0), images)
    other = views(jax.random.key(1), images)
    assert len(first) == 2
    for view in first:
        assert view.shape == images.shape and view.dtype == jnp.float32
        assert float(view.min()) >= 0.0 and float(view.max()) <= 1.0
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])
    assert not np.allclose(first[0], first[1])       # the two views are drawn independently
    assert not np.allclose(first[0][0], first[0][1])  # and so is every example
    # grayscale (p = 0.2) leaves R = G = B; about a fifth of the 64 views should be gray
    stacked = np.concatenate(first)
    gray = np.all(np.abs(stacked - stacked[..., :1]) < 1e-6, axis=(1, 2, 3))
    assert 0.05 <= gray.mean() <= 0.4


def test_config_lists_build_the_same_sampler_as_tuples():
    from_lists = augment.simclr(crop_scale=[0.2, 1.0], out_size=[12, 12], blur_sigma=[0.1, 2.0])
    from_tuples = augment.simclr(crop_scale=(0.2, 1.0), out_size=(12, 12))
    assert from_lists == from_tuples and hash(from_lists) == hash(from_tuples)


def test_simclr_on_uint8_grayscale_with_out_size():
    images = np.random.default_rng(1).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)
    views = jax.jit(augment.simclr(out_size=20, blur_p=0.0))(jax.random.key(2), images)
    for view in views:
        assert view.shape == (8, 20, 20, 1) and view.dtype == jnp.float32
        assert float(view.min()) >= 0.0 and float(view.max()) <= 1.0


def test_weak_views_change_geometry_only():
    flat = np.broadcast_to(np.array([0.2, 0.5, 0.9], np.float32), (4, 16, 16, 3))
    weak = jax.jit(augment.weak())
    for view in weak(jax.random.key(3), flat):  # crops and flips of a flat image are flat
        np.testing.assert_allclose(view, flat, atol=1e-6)
    ramp = np.broadcast_to(np.linspace(0, 1, 16, dtype=np.float32)[None, None, :, None],
                           (4, 16, 16, 3))
    views = weak(jax.random.key(3), ramp)
    assert not np.allclose(views[0], ramp)


def test_byol_views_are_asymmetric():
    # identity crop, no flip, no jitter or grayscale: what is left is blur and solarize
    images = _images((64, 16, 16, 3), seed=4)
    # (sigma >= 1: a sigma near 0.1 blurs by less than float rounding)
    sampler = augment.byol(crop_scale=(1.0, 1.0), flip=False, jitter_p=0.0, grayscale_p=0.0,
                           blur_sigma=(1.0, 2.0))
    first, second = jax.jit(sampler)(jax.random.key(5), images)
    first, second = np.asarray(first), np.asarray(second)
    changed = lambda view: ~np.all(np.abs(view - images) < 1e-6, axis=(1, 2, 3))
    assert changed(first).all()                        # view 1 is always blurred
    assert 0.1 < changed(second).mean() < 0.5          # view 2: 1 - 0.9 * 0.8 = 0.28 expected
    solarized = np.all(np.abs(second - np.where(images >= 0.5, 1 - images, images)) < 1e-6,
                       axis=(1, 2, 3))
    assert solarized.any()                             # some of view 2 is solarized only


def test_multicrop_global_and_local_sizes():
    images = _images((4, 28, 28, 3), seed=6)
    sampler = augment.multicrop(num_local=3, jitter_p=0.0, blur_p=0.0)  # sizes are the point
    views = jax.jit(sampler)(jax.random.key(7), images)
    assert [v.shape for v in views] == [(4, 28, 28, 3)] * 2 + [(4, 12, 12, 3)] * 3
    for view in views:
        assert float(view.min()) >= 0.0 and float(view.max()) <= 1.0
    explicit = augment.multicrop(out_size=24, local_size=(8, 10), num_local=1)
    shapes = jax.eval_shape(explicit, jax.random.key(0), images)
    assert [s.shape for s in shapes] == [(4, 24, 24, 3)] * 2 + [(4, 8, 10, 3)]


@pytest.mark.parametrize("build", [
    lambda: augment.simclr(crop_scale=(0.0, 1.0)),
    lambda: augment.simclr(grayscale_p=1.5),
    lambda: augment.simclr(jitter_strength=3.0),    # hue 0.6 > 0.5
    lambda: augment.byol(blur_p=(1.0,)),
    lambda: augment.multicrop(num_global=0),
    lambda: augment.weak(out_size=0),
])
def test_bad_options_fail_at_build_time(build):
    with pytest.raises(ValueError):
        build()


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError):
        AUGMENTATIONS.build("weak", jitter_strength=1.0)


def test_rejects_images_without_batch_or_with_two_channels():
    sampler = augment.weak()
    with pytest.raises(ValueError, match="B, H, W, C"):
        sampler(jax.random.key(0), np.zeros((16, 16, 3), np.float32))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        sampler(jax.random.key(0), np.zeros((2, 16, 16, 2), np.float32))
