"""On-device views of time series ``[B, T, C]`` with a mask ``[B, T]`` (True = observed), in JAX.

Every function is jit-able with static shapes: a view keeps the buffer length ``T`` and says
which of its steps are real in its own mask (a crop shorter than ``T`` is left-aligned and
masked after its end), so the encoder sees exactly what it would see on the cut-out series
(``models.ts2vec`` zero-pads outside the mask before every convolution).

* ``ts2vec_crop_params`` / ``ts2vec_crops``: TS2Vec's two random overlapping crops (contextual
  consistency; Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI
  2022, Sec. 3.2 "Random Cropping"; the draws of the released ``ts2vec.py`` ``fit``).
* ``timestamp_mask``: TS2Vec's binomial timestamp masking (keep each step with prob ``p``).
* ``jitter``, ``scaling``, ``permutation``: the TS-TCC / DBPM augmentations (Eldele et al.,
  "Time-Series Representation Learning via Temporal and Contextual Contrasting", IJCAI 2021,
  released ``augmentations.py``): Gaussian noise, a random factor per (example, channel) drawn
  from ``N(2, sigma)``, and a random reordering of up to ``max_segments`` segments.

Presets for ``registry.AUGMENTATIONS`` (``augment.name``): ``ts2vec`` (the crop pair plus
timestamp masks, a ``SeriesCrops``) and ``series`` (V independent jitter / scaling /
permutation views, a tuple of ``(series, mask)``). A series view function takes
``(rng, series, mask)`` -- the batch's arrays -- where image view functions take
``(rng, images)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


def take_per_row(x: jax.Array, starts: jax.Array, length: int) -> tuple[jax.Array, jax.Array]:
    """``x[b, starts[b] : starts[b] + length]`` for every row of ``x: [B, T, ...]``, as a
    ``[B, length, ...]`` array and an in-range mask ``[B, length]`` (out-of-range steps are
    zero)."""
    index = starts[:, None] + jnp.arange(length)[None, :]
    inside = (index >= 0) & (index < x.shape[1])
    gathered = jnp.take_along_axis(
        x, jnp.clip(index, 0, x.shape[1] - 1).reshape(index.shape + (1,) * (x.ndim - 2)), axis=1)
    zero = jnp.zeros((), x.dtype)
    return jnp.where(inside.reshape(inside.shape + (1,) * (x.ndim - 2)), gathered, zero), inside


class CropParams(NamedTuple):
    """TS2Vec's crop draws: the overlap ``[left, right)`` of length ``crop_l``, the extended
    crops ``[eleft, right)`` (view 1) and ``[left, eright)`` (view 2), all shared by the batch,
    and a per-row ``offset [B]`` that shifts both crops of a row together."""

    crop_l: jax.Array
    left: jax.Array
    right: jax.Array
    eleft: jax.Array
    eright: jax.Array
    offset: jax.Array


def ts2vec_crop_params(rng: jax.Array, length: int, batch: int, *,
                       temporal_unit: int = 0) -> CropParams:
    """The draws of TS2Vec's ``fit`` for a series of ``length`` steps (``ts_l``)::

        crop_l ~ U{2^(temporal_unit+1), ..., ts_l}        left ~ U{0, ..., ts_l - crop_l}
        eleft ~ U{0, ..., left}                          eright ~ U{right, ..., ts_l}
        offset_b ~ U{-eleft, ..., ts_l - eright}         (right = left + crop_l)

    so both crops ``[offset + eleft, offset + right)`` and ``[offset + left, offset + eright)``
    lie inside ``[0, ts_l)`` and overlap on ``[offset + left, offset + right)``.
    """
    keys = jax.random.split(rng, 5)
    low = min(2 ** (temporal_unit + 1), length)
    crop_l = jax.random.randint(keys[0], (), low, length + 1)
    left = jax.random.randint(keys[1], (), 0, length - crop_l + 1)
    right = left + crop_l
    eleft = jax.random.randint(keys[2], (), 0, left + 1)
    eright = jax.random.randint(keys[3], (), right, length + 1)
    offset = jax.random.randint(keys[4], (batch,), -eleft, length - eright + 1)
    return CropParams(crop_l, left, right, eleft, eright, offset)


class SeriesCrops(NamedTuple):
    """The two TS2Vec views of a batch, each ``[B, T, C]`` with its mask ``[B, T]`` (the crop,
    left-aligned) and its timestamp mask ``keep [B, T]``; the overlap is view 1's steps
    ``[shift, shift + overlap)`` and view 2's steps ``[0, overlap)``."""

    x1: jax.Array
    mask1: jax.Array
    keep1: jax.Array
    x2: jax.Array
    mask2: jax.Array
    keep2: jax.Array
    shift: jax.Array
    overlap: jax.Array


def crops_from_params(series: jax.Array, mask: jax.Array, params: CropParams):
    """``(x1, mask1, x2, mask2)``: the crops ``params`` describes, left-aligned in ``[B, T, C]``
    buffers; a step is in a view's mask when it is inside the crop and observed in ``mask``."""
    length = series.shape[1]
    steps = jnp.arange(length)[None, :]
    views = []
    for start, size in ((params.offset + params.eleft, params.right - params.eleft),
                        (params.offset + params.left, params.eright - params.left)):
        x, inside = take_per_row(series, start, length)
        observed, _ = take_per_row(mask, start, length)
        views += [x, inside & observed & (steps < size)]
    x1, m1, x2, m2 = views
    return (jnp.where(m1[..., None], x1, 0.0), m1, jnp.where(m2[..., None], x2, 0.0), m2)


def timestamp_mask(rng: jax.Array, shape: tuple[int, ...], p: float = 0.5) -> jax.Array:
    """TS2Vec's binomial mask: each step kept (True) independently with probability ``p``."""
    return jax.random.bernoulli(rng, p, shape)


def ts2vec_crops(rng: jax.Array, series: jax.Array, mask: jax.Array, *, temporal_unit: int = 0,
                 mask_p: float = 0.5) -> SeriesCrops:
    """Random overlapping crops (``ts2vec_crop_params``) and a timestamp mask per view."""
    k_crop, k1, k2 = jax.random.split(rng, 3)
    batch, length = series.shape[:2]
    params = ts2vec_crop_params(k_crop, length, batch, temporal_unit=temporal_unit)
    x1, m1, x2, m2 = crops_from_params(series.astype(jnp.float32), mask.astype(bool), params)
    return SeriesCrops(x1, m1, timestamp_mask(k1, m1.shape, mask_p), x2, m2,
                       timestamp_mask(k2, m2.shape, mask_p), params.left - params.eleft,
                       params.crop_l)


def jitter(rng: jax.Array, series: jax.Array, mask: jax.Array, sigma: float = 0.8):
    """``x + N(0, sigma^2)`` at observed steps (TS-TCC ``jitter``, sigma 0.8 in DBPM's config)."""
    noise = sigma * jax.random.normal(rng, series.shape, series.dtype)
    return jnp.where(mask[..., None], series + noise, series)


def scaling(rng: jax.Array, series: jax.Array, mask: jax.Array, sigma: float = 1.1):
    """``x * s`` with one factor ``s ~ N(2, sigma^2)`` per (example, channel) (TS-TCC
    ``scaling``; sigma 1.1 in DBPM's config)."""
    factor = 2.0 + sigma * jax.random.normal(rng, (series.shape[0], 1, series.shape[2]),
                                             series.dtype)
    return jnp.where(mask[..., None], series * factor, series)


def permute_segments(x: jax.Array, split_points: jax.Array, ranks: jax.Array) -> jax.Array:
    """One series ``x: [T, ...]`` cut before each of ``split_points`` (steps; a point >= T is
    unused) into segments ``0, 1, ...`` and reassembled with segment ``s`` at position
    ``ranks[s]`` (``ranks``: a permutation of the segment ids, longer is fine)."""
    steps = jnp.arange(x.shape[0])
    segment = (split_points[None, :] <= steps[:, None]).sum(axis=1)
    order = jnp.argsort(ranks[segment] * x.shape[0] + steps)
    return x[order]


def permutation(rng: jax.Array, series: jax.Array, mask: jax.Array, max_segments: int = 5):
    """TS-TCC's ``permutation`` (``seg_mode="random"``): per example, ``n ~ U{1, ...,
    max_segments - 1}`` segments cut at ``n - 1`` distinct random points of ``{0, ..., T - 3}``,
    put in a random order. Returns ``(series, mask)`` reordered alike (DBPM's config: 8)."""
    batch, length = series.shape[:2]
    keys = jax.random.split(rng, 3)
    counts = jax.random.randint(keys[0], (batch,), 1, max(max_segments, 2))
    candidates = max(length - 2, 1)
    points = jax.vmap(lambda k: jax.random.permutation(k, candidates)[:max_segments - 1])(
        jax.random.split(keys[1], batch)) if max_segments > 1 else jnp.zeros((batch, 0), int)
    used = jnp.arange(points.shape[1])[None, :] < (counts[:, None] - 1)
    points = jnp.where(used, points, length)
    ranks = jax.vmap(lambda k: jax.random.permutation(k, max_segments))(
        jax.random.split(keys[2], batch))
    reorder = jax.vmap(permute_segments)
    return reorder(series, points, ranks), reorder(mask, points, ranks)


class TS2VecViews:
    """``augment.name="ts2vec"``: ``views(rng, series, mask) -> SeriesCrops``."""

    num_views = 2
    modality = "series"
    crop_pair = True  # returns a SeriesCrops (methods.ts2vec checks this)

    def __init__(self, *, temporal_unit: int = 0, mask_p: float = 0.5):
        self.temporal_unit, self.mask_p = int(temporal_unit), float(mask_p)

    def __call__(self, rng, series, mask) -> SeriesCrops:
        return ts2vec_crops(rng, series, mask, temporal_unit=self.temporal_unit,
                            mask_p=self.mask_p)


class SeriesViews:
    """``augment.name="series"``: ``num_views`` independent views, each ``(series, mask)``
    after jitter (``jitter_sigma``), scaling (``scale_sigma``) and permutation
    (``max_segments``), each step on with its probability (1 = always, 0 = off)."""

    modality = "series"

    def __init__(self, *, num_views: int = 2, jitter_sigma: float = 0.8, jitter_p: float = 1.0,
                 scale_sigma: float = 1.1, scale_p: float = 1.0, max_segments: int = 5,
                 permute_p: float = 0.0):
        self.num_views = int(num_views)
        self.settings = (float(jitter_sigma), float(jitter_p), float(scale_sigma),
                         float(scale_p), int(max_segments), float(permute_p))

    def __call__(self, rng, series, mask):
        jitter_sigma, jitter_p, scale_sigma, scale_p, max_segments, permute_p = self.settings
        series, mask = series.astype(jnp.float32), mask.astype(bool)
        views = []
        for key in jax.random.split(rng, self.num_views):
            keys = jax.random.split(key, 6)
            x, m = series, mask
            steps = ((jitter_p, lambda k, x, m: (jitter(k, x, m, jitter_sigma), m)),
                     (scale_p, lambda k, x, m: (scaling(k, x, m, scale_sigma), m)),
                     (permute_p, lambda k, x, m: permutation(k, x, m, max_segments)))
            for index, (p, fn) in enumerate(steps):
                if p <= 0:
                    continue
                nx, nm = fn(keys[2 * index], x, m)
                on = jax.random.bernoulli(keys[2 * index + 1], p, (x.shape[0],))
                x = jnp.where(on[:, None, None], nx, x)
                m = jnp.where(on[:, None], nm, m)
            views.append((x, m))
        return tuple(views)


def ts2vec(**kwargs) -> TS2VecViews:
    return TS2VecViews(**kwargs)


def series(**kwargs) -> SeriesViews:
    return SeriesViews(**kwargs)
