"""Time-series views on device against NumPy references: TS2Vec's overlapping crops (the
released ``take_per_row`` slicing), timestamp masks, jitter, scaling and TS-TCC's segment
permutation."""

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax.data import augment_series as A
from contrastive_jax.registry import AUGMENTATIONS


def _series(b=6, t=20, c=2, seed=0):
    return np.random.default_rng(seed).standard_normal((b, t, c)).astype(np.float32)


@jax.jit
def _crops(key, x, mask):
    params = A.ts2vec_crop_params(key, x.shape[1], x.shape[0])
    return params, A.crops_from_params(x, mask, params)


def test_crops_match_the_released_slicing_and_overlap():
    x = _series()
    mask = np.ones(x.shape[:2], bool)
    for seed in range(8):
        params, (x1, m1, x2, m2) = jax.device_get(_crops(jax.random.key(seed), x, mask))
        p = {k: np.asarray(v) for k, v in params._asdict().items()}
        t = x.shape[1]
        assert 2 <= p["crop_l"] <= t and 0 <= p["eleft"] <= p["left"]
        assert p["right"] <= p["eright"] <= t
        assert (p["offset"] + p["eleft"] >= 0).all() and (p["offset"] + p["eright"] <= t).all()
        for view, vmask, start, stop in ((x1, m1, p["eleft"], p["right"]),
                                         (x2, m2, p["left"], p["eright"])):
            size = int(stop - start)
            for row in range(len(x)):
                expected = x[row, p["offset"][row] + start:p["offset"][row] + stop]
                np.testing.assert_array_equal(view[row, :size], expected)
                assert (view[row, size:] == 0).all()
                assert vmask[row, :size].all() and not vmask[row, size:].any()
        # The overlap: view 1's steps [left - eleft, +crop_l) are view 2's first crop_l steps.
        shift, n = int(p["left"] - p["eleft"]), int(p["crop_l"])
        np.testing.assert_array_equal(x1[:, shift:shift + n], x2[:, :n])


def test_crops_respect_the_series_mask():
    x = _series()
    mask = np.ones(x.shape[:2], bool)
    mask[:, 15:] = False  # every series ends at step 15
    x[:, 15:] = 0
    params, (x1, m1, x2, m2) = jax.device_get(_crops(jax.random.key(3), x, mask))
    start = np.asarray(params.offset + params.eleft)
    for row in range(len(x)):
        index = start[row] + np.arange(20)
        observed = mask[row, index.clip(max=19)] & (index < 20)
        assert not (m1[row] & ~observed).any()
        assert m1[row, :observed.sum()].any()


def test_timestamp_mask_keeps_each_step_with_probability_p():
    keep = np.asarray(A.timestamp_mask(jax.random.key(0), (64, 200), 0.5))
    assert keep.dtype == bool and abs(keep.mean() - 0.5) < 0.01


def test_jitter_and_scaling_statistics_and_masked_steps():
    x = np.ones((400, 30, 3), np.float32)
    mask = np.ones(x.shape[:2], bool)
    mask[:, 25:] = False
    jittered = np.asarray(jax.jit(A.jitter)(jax.random.key(0), x, mask, 0.8))
    noise = (jittered - x)[:, :25]
    assert abs(noise.std() - 0.8) < 0.01 and abs(noise.mean()) < 0.01
    assert (jittered[:, 25:] == 1).all()
    scaled = np.asarray(jax.jit(A.scaling)(jax.random.key(1), x, mask, 1.1))
    factors = scaled[:, 0, :]
    np.testing.assert_array_equal(scaled[:, :25], np.broadcast_to(factors[:, None], (400, 25, 3)))
    assert abs(factors.mean() - 2.0) < 0.1 and abs(factors.std() - 1.1) < 0.1
    assert (scaled[:, 25:] == 1).all()


_permute = jax.jit(A.permute_segments)


def test_permute_segments_matches_numpy_split_and_reorder():
    rng = np.random.default_rng(0)
    x = np.arange(12, dtype=np.float32)[:, None] * np.array([1.0, -1.0], np.float32)
    for _ in range(10):
        count = int(rng.integers(1, 5))
        points = np.sort(rng.choice(10, count - 1, replace=False))
        ranks = rng.permutation(5)
        segments = np.split(x, points)
        used = ranks[:len(segments)]
        expected = np.concatenate([segments[s] for s in np.argsort(used)])
        padded = np.concatenate([points, np.full(4 - len(points), 12)]).astype(np.int32)
        got = np.asarray(_permute(jnp.asarray(x), padded, jnp.asarray(ranks)))
        np.testing.assert_array_equal(got, expected)


def test_permutation_reorders_contiguous_segments():
    x = np.tile(np.arange(40, dtype=np.float32)[None, :, None], (16, 1, 1))
    mask = np.ones(x.shape[:2], bool)
    out, out_mask = jax.device_get(jax.jit(A.permutation, static_argnums=3)(
        jax.random.key(0), x, mask, 5))
    assert out_mask.all()
    for row in out[:, :, 0]:
        np.testing.assert_array_equal(np.sort(row), np.arange(40))
        assert (np.diff(row) != 1).sum() <= 3  # at most 4 segments, so at most 3 jumps


def test_presets_are_registered_and_make_views():
    crops = jax.jit(AUGMENTATIONS.build("ts2vec"))(jax.random.key(0), _series(),
                                                   np.ones((6, 20), bool))
    assert isinstance(crops, A.SeriesCrops) and crops.x1.shape == (6, 20, 2)
    make = AUGMENTATIONS.build("series", num_views=3)
    assert make.num_views == 3 and make.modality == "series"
    x = _series()
    mask = np.ones((6, 20), bool)
    mask[:, 18:] = False
    views = jax.jit(make)(jax.random.key(0), x, mask)
    assert len(views) == 3 and all(v[0].shape == (6, 20, 2) for v in views)
    for series, view_mask in views:  # jitter + scaling change observed steps only
        np.testing.assert_array_equal(view_mask, mask)
        np.testing.assert_array_equal(np.asarray(series)[:, 18:], x[:, 18:])
        assert not np.allclose(np.asarray(series)[:, :18], x[:, :18])
