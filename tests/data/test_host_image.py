"""data.host_image against NumPy / PIL references written here."""

import io
import math

import numpy as np
import pytest
from PIL import Image

from contrastive_jax.data import host_image


def test_crop_boxes_stay_inside_and_follow_the_area_and_ratio_laws():
    """Accepted boxes (no fallback on a square image this size) have area fraction in
    [0.08, 1] (up to rounding), aspect in [3/4, 4/3], lie inside the image, and for scale
    (0.3, 0.6) the mean area fraction of accepted boxes is near the middle of the range."""
    rng = np.random.default_rng(0)
    H = W = 200
    boxes = [host_image.sample_crop_box(rng, H, W, scale=(0.3, 0.6)) for _ in range(3000)]
    tops, lefts, hs, ws = np.array(boxes).T
    assert (tops >= 0).all() and (lefts >= 0).all()
    assert (tops + hs <= H).all() and (lefts + ws <= W).all()
    area = hs * ws / (H * W)
    assert area.min() > 0.3 - 0.02 and area.max() < 0.6 + 0.02
    assert abs(area.mean() - 0.45) < 0.01
    log_aspect = np.log(ws / hs)
    assert log_aspect.min() > math.log(3 / 4) - 0.02 and log_aspect.max() < math.log(4 / 3) + 0.02
    # log aspect ~ U(log 3/4, log 4/3): mean 0, variance (width^2)/12
    width = math.log(4 / 3) - math.log(3 / 4)
    assert abs(log_aspect.mean()) < 0.01
    assert abs(log_aspect.var() - width ** 2 / 12) < 0.01
    # the placement is uniform over the free range: the mean relative offset is about 1/2
    free = H - hs
    rel = tops[free > 0] / free[free > 0]
    assert abs(rel.mean() - 0.5) < 0.03


def test_crop_box_fallback_is_the_centred_ratio_clamped_box():
    """A 10x1000 strip can fit no box of aspect in [3/4, 4/3] with area >= 0.9: ten tries fail
    and the fallback is the full height, width = round(10 * 4/3) = 13, centred."""
    rng = np.random.default_rng(1)
    assert host_image.sample_crop_box(rng, 10, 1000, scale=(0.9, 1.0)) == (0, (1000 - 13) // 2,
                                                                           10, 13)
    assert host_image.sample_crop_box(rng, 1000, 10, scale=(0.9, 1.0)) == ((1000 - 13) // 2, 0,
                                                                           13, 10)
    # within the ratio range the fallback is the whole image (scale 1.0, ratio 1 tries fail
    # only through rounding, so force it with an impossible ratio range of one value)
    assert host_image.sample_crop_box(rng, 30, 36, scale=(1.0, 1.0), ratio=(1.2, 1.2)) == (
        0, 0, 30, 36)


def test_crop_views_are_the_pil_resize_of_the_sampled_boxes():
    rng_pixels = np.random.default_rng(2)
    image = rng_pixels.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    crop = host_image.HostCrop(size=16, scales=((0.2, 1.0), (0.5, 0.6)),
                               ratios=((0.75, 1.33), (1.0, 1.0)))
    views = host_image.crop_views(image, crop, np.random.default_rng(7))
    assert views.shape == (2, 16, 16, 3) and views.dtype == np.uint8
    replay = np.random.default_rng(7)  # same draws: the boxes of views 0 and 1, then flips
    boxes = [host_image.sample_crop_box(replay, 37, 53, scale=scale, ratio=ratio)
             for scale, ratio in zip(crop.scales, crop.ratios)]
    for v, (top, left, h, w) in enumerate(boxes):
        expected = Image.fromarray(image).resize((16, 16), Image.BILINEAR,
                                                 box=(left, top, left + w, top + h))
        np.testing.assert_array_equal(views[v], np.asarray(expected))


def test_host_flip_mirrors_columns():
    image = np.random.default_rng(3).integers(0, 256, (20, 20, 1), dtype=np.uint8)
    keep = host_image.HostCrop(size=20, scales=((1.0, 1.0),), ratios=((1.0, 1.0),), channels=1)
    flip = host_image.HostCrop(size=20, scales=((1.0, 1.0),), ratios=((1.0, 1.0),), channels=1,
                               flip_p=1.0)
    a = host_image.crop_views(image, keep, np.random.default_rng(0))
    b = host_image.crop_views(image, flip, np.random.default_rng(0))
    np.testing.assert_array_equal(a[0], image)  # a full square box at the same size: unchanged
    np.testing.assert_array_equal(b[0], image[:, ::-1])


@pytest.mark.parametrize("height,width", [(40, 60), (75, 31), (16, 16)])
def test_center_crop_matches_a_direct_pil_reference(height, width):
    image = np.random.default_rng(4).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = host_image.center_crop(image, 16, 3)
    short = round(16 / 0.875)  # 18
    if width <= height:
        size = (short, round(height * short / width))
    else:
        size = (round(width * short / height), short)
    resized = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
    top, left = (size[1] - 16) // 2, (size[0] - 16) // 2
    np.testing.assert_array_equal(out, resized[top:top + 16, left:left + 16])


def test_eval_transform_is_none_for_fixed_size_and_crops_variable_size():
    from contrastive_jax.data.sources import SourceInfo

    assert host_image.eval_transform(SourceInfo("a", (28, 28, 1), 10)) is None
    transform = host_image.eval_transform(SourceInfo("b", (8, 8, 1), 2, variable_size=True))
    out = transform({"image": np.zeros((30, 20, 3), np.uint8), "label": np.int32(1), "x": 5})
    assert out["image"].shape == (8, 8, 1) and out["label"] == 1 and out["x"] == 5


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_channel_conversion_of_gray_rgba_and_palette():
    rgb = np.random.default_rng(5).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    # gray -> RGB repeats the channel
    out = host_image.decode(_encode(Image.fromarray(gray, "L"), "PNG"), 3)
    np.testing.assert_array_equal(out, np.repeat(gray[..., None], 3, axis=-1))
    # RGBA -> RGB drops alpha
    rgba = np.concatenate([rgb, np.full((6, 7, 1), 9, np.uint8)], axis=-1)
    out = host_image.decode(_encode(Image.fromarray(rgba, "RGBA"), "PNG"), 3)
    np.testing.assert_array_equal(out, rgb)
    # RGB -> 1 channel is ITU-R 601-2 luma, as PIL's "L" (L = R 299/1000 + G 587/1000 + B 114/1000)
    out = host_image.decode(_encode(Image.fromarray(rgb), "PNG"), 1)
    rgb_i = rgb.astype(np.int64)
    luma = (rgb_i[..., 0] * 299 + rgb_i[..., 1] * 587 + rgb_i[..., 2] * 114) / 1000
    assert out.shape == (6, 7, 1) and np.abs(out[..., 0] - luma).max() <= 1
    # a palette image expands to its colours
    palette = Image.fromarray(rgb).quantize(colors=8)
    out = host_image.decode(_encode(palette, "PNG"), 3)
    np.testing.assert_array_equal(out, np.asarray(palette.convert("RGB")))
    # a single-channel array is accepted too
    assert host_image.decode(gray[..., None], 3).shape == (6, 7, 3)


def test_a_corrupt_or_truncated_file_raises_a_clear_decode_error(tmp_path):
    garbage = tmp_path / "bad.jpg"
    garbage.write_bytes(b"not an image at all")
    with pytest.raises(host_image.DecodeError, match="bad.jpg: cannot decode"):
        host_image.decode(str(garbage))
    whole = _encode(Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 77), "JPEG")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(host_image.DecodeError, match="cut.jpg"):
        host_image.decode(str(truncated), name=str(truncated))


def test_draft_factor_is_the_largest_power_of_two_keeping_every_box_at_size():
    assert host_image.draft_factor([(0, 0, 300, 500)], 64) == 4  # 300 / 4 = 75 >= 64 > 37
    assert host_image.draft_factor([(0, 0, 300, 500), (0, 0, 127, 900)], 64) == 1
    assert host_image.draft_factor([(0, 0, 1000, 1000)], 64) == 8  # capped at JPEG's 1/8
    assert host_image.draft_factor([(0, 0, 128, 128)], 64) == 2


def test_a_lazily_opened_jpeg_crops_like_its_full_decode(tmp_path):
    """Decoding at 1/2-1/8 scale changes pixels slightly, not the geometry: the views of a
    smooth photo-like JPEG agree with the full-decode views to a few grey levels; a PNG is
    always decoded in full (identical)."""
    smooth = Image.fromarray(np.random.default_rng(6).integers(0, 256, (6, 6, 3), np.uint8))
    pixels = np.asarray(smooth.resize((480, 360), Image.BILINEAR))
    Image.fromarray(pixels).save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    crop = host_image.HostCrop(size=32, scales=((0.5, 1.0),) * 3, ratios=((0.75, 4 / 3),) * 3)
    full = host_image.decode(str(tmp_path / "a.jpg"))
    lazy = host_image.crop_views(Image.open(tmp_path / "a.jpg"), crop, np.random.default_rng(1))
    eager = host_image.crop_views(full, crop, np.random.default_rng(1))
    assert np.abs(lazy.astype(int) - eager).mean() < 3.0
    png = host_image.crop_views(Image.open(tmp_path / "a.png"), crop, np.random.default_rng(1))
    np.testing.assert_array_equal(png, host_image.crop_views(pixels, crop,
                                                             np.random.default_rng(1)))
