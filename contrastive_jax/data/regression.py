"""Offline regression sources: ``rotated:<source>`` (rotation-angle regression) and
``tabular:<name>`` (scikit-learn's ``diabetes``, mlxtend's ``autompg``).

Every record carries a float ``"target"`` (float32 []) and, so that classification baselines
such as SupCon can run on the same data, ``"label"``: the index of the target's quantile bin
(int32 [], ``num_bins`` bins whose edges are the training split's target quantiles; the
held-out split is binned with the same edges). ``info.num_classes`` is ``num_bins`` and
``info.task == "regression"``: the evaluation of such a source is a held-out ridge regression
probe on frozen features (MAE, R^2; ``evaluate.regression``), not the kNN / logistic probe of
the bins (``train.final_eval``).

* ``rotated:mnist5k`` (or ``rotated:digits``): each image of the base source rotated about
  its centre by an angle drawn uniformly from ``angle_range`` degrees (default [-45, 45]:
  no wrap-around, and a 6 is never a rotated 9), bilinear, zero fill; the target is the angle.
  The angles are drawn from ``numpy.random.default_rng([SPLIT_SEED, crc32(split)])``, so an
  image has the same angle in every run; the base source's train / held-out split is kept.
* ``tabular:diabetes`` (442 patients, 10 features, disease progression after one year) and
  ``tabular:autompg`` (392 cars, 7 numeric features, miles per gallon; the all-missing name
  column dropped): a seeded 80 / 20 train / held-out split (``SPLIT_SEED``, the same in every
  run), features standardised with the training split's mean and std. Records hold
  ``"features"``: float32 [F] (``info.input_keys = ("features",)``, ``image_shape = (F,)``).

``train_fraction`` (default 1.0) keeps a seeded fraction of the *training* split (drawn with
``default_rng([seed, crc32("train_fraction")])``: the same subset in every cell of a table
with the same seed), SupReMix's fewer-training-samples setting; the held-out split is always
whole.
"""

from __future__ import annotations

import dataclasses
import functools
import zlib

import numpy as np

from contrastive_jax.data.sources import SPLIT_SEED, SourceInfo

TABULAR = ("diabetes", "autompg")
ROTATABLE = ("mnist5k", "digits")
TEST_FRACTION = 0.2
FRACTION_STREAM = zlib.crc32(b"train_fraction")




@dataclasses.dataclass(frozen=True)
class RegressionInfo(SourceInfo):
    """``SourceInfo`` of a regression source: ``task = "regression"``, ``target_name`` (what the
    target measures), ``num_classes`` the number of target bins of ``"label"``."""

    task: str = "regression"
    target_name: str = "target"


class RegressionSource:
    """Records ``{<input key>: x[i], "target": float32, "label": int32 bin, "index": int32}``.

    inputs: [N, ...] (uint8 images ``[N, H, W, C]`` or float32 features ``[N, F]``);
    targets: float [N]; bins: int [N]; ``info.input_keys[0]`` names the input's key.
    """

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, bins: np.ndarray,
                 info: RegressionInfo):
        if len(inputs) == 0:
            raise ValueError(f"{info.name}: the split is empty.")
        if not (len(inputs) == len(targets) == len(bins)):
            raise ValueError(f"{info.name}: {len(inputs)} inputs, {len(targets)} targets and "
                             f"{len(bins)} bins.")
        self.inputs = np.asarray(inputs)
        self.targets = np.asarray(targets, np.float32)
        self.labels = np.asarray(bins, np.int32)
        self.info = info
        self.key = info.input_keys[0]

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {self.key: self.inputs[index], "target": self.targets[index],
                "label": self.labels[index], "index": np.int32(index)}

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {self.key: self.inputs, "target": self.targets, "label": self.labels}

    def __repr__(self) -> str:
        return f"RegressionSource({self.info.name}, n={len(self)}, shape={self.info.image_shape})"


def quantile_edges(train_targets: np.ndarray, num_bins: int) -> np.ndarray:
    """The ``num_bins - 1`` inner edges: the training targets' quantiles ``1/K .. (K-1)/K``."""
    if not isinstance(num_bins, int) or num_bins < 1:
        raise ValueError(f"num_bins must be a positive integer (the target bins of 'label'), "
                         f"got {num_bins!r}.")
    return np.quantile(np.asarray(train_targets, np.float64),
                       np.arange(1, num_bins) / num_bins)


def bin_targets(targets: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """int32 [N]: the bin of each target (``searchsorted`` right of the inner edges)."""
    return np.searchsorted(edges, np.asarray(targets, np.float64), side="right").astype(np.int32)


def keep_fraction(count: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``round(fraction * count)`` (at least 1) of ``count`` rows, seeded."""
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"dataset.train_fraction must be in (0, 1] (the share of the training "
                         f"split kept, e.g. 0.2), got {fraction!r}.")
    kept = max(1, int(round(fraction * count)))
    return np.sort(np.random.default_rng([seed, FRACTION_STREAM]).permutation(count)[:kept])


def _check_split(split: str, name: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"{name}: unknown split {split!r}; valid splits: 'train', 'test'.")


@functools.cache
def _tabular_arrays(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        bunch = load_diabetes()  # scikit-learn's scaled copy; standardised again below
        return bunch.data.astype(np.float64), bunch.target.astype(np.float64), "progression"
    from mlxtend.data import autompg_data

    features, targets = autompg_data()
    features = features[:, ~np.isnan(features).all(axis=0)]  # the empty car-name column
    keep = ~np.isnan(features).any(axis=1)
    return features[keep], targets[keep].astype(np.float64), "mpg"


def tabular_source(name: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                   train_fraction: float = 1.0, num_bins: int = 10) -> RegressionSource:
    """``tabular:diabetes`` / ``tabular:autompg``: standardised features, float target."""
    del data_dir  # bundled with scikit-learn / mlxtend
    if name not in TABULAR:
        raise ValueError(f"unknown tabular data set {name!r}; valid: "
                         f"{', '.join('tabular:' + n for n in TABULAR)}.")
    _check_split(split, f"tabular:{name}")
    features, targets, target_name = _tabular_arrays(name)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(features))
    num_test = int(round(TEST_FRACTION * len(features)))
    train_idx, test_idx = np.sort(order[num_test:]), np.sort(order[:num_test])
    train_idx = train_idx[keep_fraction(len(train_idx), train_fraction, seed)]
    mean = features[train_idx].mean(axis=0)
    std = features[train_idx].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    edges = quantile_edges(targets[train_idx], num_bins)
    idx = train_idx if split == "train" else test_idx
    info = RegressionInfo(f"tabular:{name}", (features.shape[1],), num_bins,
                          input_keys=("features",), target_name=target_name)
    return RegressionSource(((features[idx] - mean) / std).astype(np.float32), targets[idx],
                            bin_targets(targets[idx], edges), info)


def rotate_images(images: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, C] each rotated counter-clockwise by ``angles`` [N] degrees about its
    centre (bilinear, zero fill, same size)."""
    from scipy import ndimage

    out = np.empty_like(images)
    for i, (image, angle) in enumerate(zip(images, angles)):
        rotated = ndimage.rotate(image.astype(np.float32), float(angle), axes=(1, 0),
                                 reshape=False, order=1, mode="constant", cval=0.0)
        out[i] = np.clip(np.round(rotated), 0, 255).astype(np.uint8)
    return out


def rotated_source(base: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                   angle_range: tuple[float, float] = (-45.0, 45.0), train_fraction: float = 1.0,
                   num_bins: int = 10) -> RegressionSource:
    """``rotated:mnist5k``: the base source's images rotated by a seeded uniform angle in
    ``angle_range`` (degrees); target = the angle."""
    if base not in ROTATABLE:
        raise ValueError(f"rotated:{base}: valid base sources: "
                         f"{', '.join('rotated:' + n for n in ROTATABLE)}.")
    _check_split(split, f"rotated:{base}")
    low, high = (float(a) for a in angle_range)
    if not low < high:
        raise ValueError(f"dataset.angle_range must be (low, high) degrees with low < high, "
                         f"got {angle_range!r}.")
    from contrastive_jax.registry import DATASETS

    images, angles = _rotated_split(base, split, low, high)
    train_angles = _rotated_split(base, "train", low, high)[1]
    kept = keep_fraction(len(train_angles), train_fraction, seed)
    if split == "train":
        images, angles = images[kept], angles[kept]
    edges = quantile_edges(train_angles[kept], num_bins)  # the kept training targets' bins
    shape = DATASETS.build(base, "train").info.image_shape
    info = RegressionInfo(f"rotated:{base}", tuple(shape), num_bins, target_name="angle")
    return RegressionSource(images, angles, bin_targets(angles, edges), info)


@functools.cache
def _rotated_split(base: str, split: str, low: float, high: float):
    from contrastive_jax.registry import DATASETS

    source = DATASETS.build(base, split)
    images = source.as_arrays()["image"]
    rng = np.random.default_rng([SPLIT_SEED, zlib.crc32(split.encode())])
    angles = rng.uniform(low, high, size=len(images))
    rotated = rotate_images(images, angles)
    rotated.flags.writeable = False
    return rotated, angles.astype(np.float32)
