"""UCR / UEA time-series classification archives through aeon: ``ucr:<Name>``.

``ucr:GunPoint`` (univariate, UCR) and ``ucr:BasicMotions`` (multivariate, UEA) are read with
``aeon.datasets.load_classification(name, split=...)``. The aeon wheel bundles a few sets
(GunPoint, ArrowHead, ItalyPowerDemand, OSULeaf, ACSF1, BasicMotions, JapaneseVowels, ...) that
load offline; any other name goes through aeon's own download (timeseriesclassification.com)
and fails with a message saying so when that is not reachable.

Records are ``{"series": float32 [T, C], "mask": bool [T], "label": int32 [], "index": int32
[]}`` (``index``: the record's position in its split, for per-example method state such as
DBPM's memory): the archive's
own train / test split, ``T`` the longest series of either split. Variable-length sets
(JapaneseVowels, ...) are zero-padded at the end and ``mask`` marks the observed steps; nothing
is truncated. Labels are mapped to ``0 .. K-1`` in sorted order of the train split's labels
(numeric order when every label is a number), as TS2Vec's ``datautils`` does.

Preprocessing follows TS2Vec's released code (Yue et al., "TS2Vec: Towards Universal
Representation of Time Series", AAAI 2022; ``datautils.load_UCR`` / ``load_UEA``):

* univariate (UCR): the archive's sets are already z-normalised per series and are left as
  they are, except the sets the 2018 archive ships unnormalised (``UCR_UNNORMALIZED`` below),
  which are scaled by the mean and std of *all* train values (one pair, "to keep the amplitude
  information");
* multivariate (UEA): every channel is standardised with the mean and std of that channel over
  all (observed) train time steps (scikit-learn's ``StandardScaler`` in TS2Vec).

``info.input_keys = ("series", "mask")`` and ``info.image_shape = (T, C)``: the batch keys the
encoder reads and the shape of one example (see docs/adding_a_dataset.md, "Other modalities").
"""

from __future__ import annotations

import functools

import numpy as np

from contrastive_jax.data.sources import SourceInfo

# TS2Vec datautils.load_UCR: the UCR 2018 sets that are not z-normalised in the archive.
UCR_UNNORMALIZED = frozenset((
    "AllGestureWiimoteX", "AllGestureWiimoteY", "AllGestureWiimoteZ", "BME", "Chinatown", "Crop",
    "EOGHorizontalSignal", "EOGVerticalSignal", "Fungi", "GestureMidAirD1", "GestureMidAirD2",
    "GestureMidAirD3", "GesturePebbleZ1", "GesturePebbleZ2", "GunPointAgeSpan",
    "GunPointMaleVersusFemale", "GunPointOldVersusYoung", "HouseTwenty", "InsectEPGRegularTrain",
    "InsectEPGSmallTrain", "MelbournePedestrian", "PickupGestureWiimoteZ", "PigAirwayPressure",
    "PigArtPressure", "PigCVP", "PLAID", "PowerCons", "Rock", "SemgHandGenderCh2",
    "SemgHandMovementCh2", "SemgHandSubjectCh2", "ShakeGestureWiimoteZ", "SmoothSubspace", "UMD",
))

# Bundled with the aeon wheel (load offline); others are downloaded by aeon.
BUNDLED = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "ACSF1", "BasicMotions",
           "JapaneseVowels")


class SeriesSource:
    """A grain-compatible source of padded series: ``series`` float32 [N, T, C], ``mask`` bool
    [N, T], ``labels`` int32 [N]. ``source[i]`` is ``{"series", "mask", "label", "index"}``."""

    def __init__(self, series: np.ndarray, mask: np.ndarray, labels: np.ndarray,
                 info: SourceInfo):
        series, mask = np.asarray(series, np.float32), np.asarray(mask, bool)
        if series.ndim != 3 or mask.shape != series.shape[:2]:
            raise ValueError(f"{info.name}: series must be [N, T, C] with a mask [N, T], got "
                             f"{series.shape} and {mask.shape}.")
        if tuple(series.shape[1:]) != tuple(info.image_shape):
            raise ValueError(f"{info.name}: series of shape {series.shape[1:]}, expected "
                             f"{info.image_shape}.")
        if len(series) == 0:
            raise ValueError(f"{info.name}: the split is empty.")
        self.series, self.mask = series, mask
        self.labels = np.asarray(labels, np.int32)
        self.info = info

    def __len__(self) -> int:
        return len(self.series)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {"series": self.series[index], "mask": self.mask[index],
                "label": self.labels[index], "index": np.int32(index)}

    def __repr__(self) -> str:
        return f"SeriesSource({self.info.name}, n={len(self)}, shape={self.info.image_shape})"


def _load(name: str, split: str, extract_path):
    from aeon.datasets import load_classification

    try:
        return load_classification(name, split=split, extract_path=extract_path)
    except Exception as error:  # aeon raises several kinds for a failed download
        bundled = ", ".join(BUNDLED)
        raise ValueError(
            f"ucr:{name}: aeon could not load the {split} split ({type(error).__name__}: "
            f"{error}). Only the sets bundled with aeon load offline ({bundled}, ...); any "
            f"other name is downloaded from timeseriesclassification.com, which needs network "
            f"access (or the files under dataset.data_dir).") from error


def _as_list(x) -> list[np.ndarray]:
    """aeon's [N, C, T] array or list of [C, T_i] arrays -> list of float64 [T_i, C]."""
    return [np.asarray(s, np.float64).T for s in x]


def _label_map(train_labels: np.ndarray) -> dict:
    values = np.unique(train_labels)
    try:
        values = sorted(values, key=float)
    except ValueError:
        values = sorted(values)
    return {value: index for index, value in enumerate(values)}


def _pad(series: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    channels = series[0].shape[1]
    out = np.zeros((len(series), length, channels), np.float64)
    mask = np.zeros((len(series), length), bool)
    for i, s in enumerate(series):
        observed = ~np.isnan(s).any(axis=1)  # aeon pads some sets with NaN: not observed
        out[i, :len(s)] = np.where(observed[:, None], s, 0.0)
        mask[i, :len(s)] = observed
    return out, mask


@functools.cache
def load_ucr_arrays(name: str, data_dir: str | None = None):
    """``(train, test, class_names)``, each split ``(series f32 [N, T, C], mask [N, T],
    labels i32 [N])`` preprocessed as TS2Vec does; cached per process."""
    raw = {split: _load(name, split, data_dir) for split in ("train", "test")}
    series = {split: _as_list(x) for split, (x, _) in raw.items()}
    mapping = _label_map(raw["train"][1])
    unknown = sorted(set(raw["test"][1]) - set(mapping))
    if unknown:
        raise ValueError(f"ucr:{name}: test labels {unknown} do not occur in the train split.")
    length = max(len(s) for split in series.values() for s in split)
    padded = {split: _pad(s, length) for split, s in series.items()}
    train, train_mask = padded["train"]
    channels = train.shape[-1]
    if channels > 1:  # UEA: per-channel StandardScaler over the observed train steps
        observed = train[train_mask]
        mean, std = observed.mean(axis=0), observed.std(axis=0)
    elif name in UCR_UNNORMALIZED:  # one mean / std of all train values
        observed = train[train_mask]
        mean, std = observed.mean(), observed.std()
    else:
        mean, std = 0.0, 1.0
    std = np.where(np.asarray(std) > 0, std, 1.0)
    out = []
    for split in ("train", "test"):
        x, mask = padded[split]
        x = np.where(mask[..., None], (x - mean) / std, 0.0).astype(np.float32)
        labels = np.array([mapping[v] for v in raw[split][1]], np.int32)
        for array in (x, mask, labels):
            array.flags.writeable = False
        out.append((x, mask, labels))
    return out[0], out[1], tuple(str(v) for v in mapping)


def ucr_source(name: str, split: str, *, data_dir: str | None = None,
               seed: int = 0) -> SeriesSource:
    """``ucr:<name>``: the archive's own ``split`` ("train" / "test") as a ``SeriesSource``."""
    del seed  # the archive's split is fixed
    if split not in ("train", "test"):
        raise ValueError(f"ucr:{name}: unknown split {split!r}; valid splits: 'train', 'test'.")
    train, test, class_names = load_ucr_arrays(name, data_dir or None)
    series, mask, labels = train if split == "train" else test
    info = SourceInfo(f"ucr:{name}", tuple(series.shape[1:]), len(class_names), class_names,
                      input_keys=("series", "mask"))
    return SeriesSource(series, mask, labels, info)
