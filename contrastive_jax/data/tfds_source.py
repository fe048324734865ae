"""``tfds:<name>``: a TFDS data set read by random access (array_record), as a grain source.

    DATASETS.build("tfds:cifar10", "train", data_dir="~/tensorflow_datasets")

The data must be prepared in the ``array_record`` format once, e.g.
``tfds build cifar10 --data_dir=DIR --file_format=array_record`` (or
``tfds.builder("cifar10", data_dir=DIR).download_and_prepare(file_format="array_record")``,
``tfds_source(..., download=True)``, or ``--config.dataset.download=True`` on the main
command). Nothing is downloaded unless asked: this library runs
offline first. Records become ``{"image": uint8 [H, W, C], "label": int32 []}``; per-process
sharding is the grain sampler's job (``data.pipeline``), not this source's.

Data sets with images of varying size (``imagenet2012``: ``(None, None, 3)``) need
``image_size`` (``--config.dataset.image_size=S``): the source is then ``variable_size``, its
records are the decoded images at their own size, and the host pipeline crops them to ``(S, S,
C)`` (``data.host_image``). ``image_size`` on a fixed-size set (cifar10) does the same, e.g.
to train at another resolution; without it fixed-size sets are read exactly as they are.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from contrastive_jax.data import host_image
from contrastive_jax.data.sources import SourceInfo


class TfdsSource:
    """A random-access view of a TFDS split in the source contract.

    data: any sequence of TFDS example dicts (``tfds.data_source`` output); ``image_key`` and
    ``label_key`` name the features to keep. Every record is checked against
    ``info.image_shape`` and uint8 as it is read, so a bad record fails with its index.
    """

    def __init__(self, data: Sequence[dict[str, Any]], info: SourceInfo, *,
                 image_key: str = "image", label_key: str = "label"):
        if len(data) == 0:
            raise ValueError(f"{info.name}: the split is empty; choose another split.")
        self.data = data
        self.info = info
        self.image_key = image_key
        self.label_key = label_key

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        record = self.data[int(index)]
        image = np.asarray(record[self.image_key])
        if self.info.variable_size:
            if image.dtype != np.uint8 or image.ndim != 3:
                raise ValueError(f"{self.info.name}: record {index} has a {image.dtype} image "
                                 f"of shape {image.shape}; expected uint8 [H, W, C].")
            channels = self.info.image_shape[-1]
            if image.shape[-1] != channels:
                image = host_image.decode(image, channels)
            return {"image": image, "label": np.asarray(record[self.label_key], np.int32)}
        if image.dtype != np.uint8 or image.shape != tuple(self.info.image_shape):
            raise ValueError(
                f"{self.info.name}: record {index} has a {image.dtype} image of shape "
                f"{image.shape}; expected uint8 {tuple(self.info.image_shape)}.")
        return {"image": image, "label": np.asarray(record[self.label_key], np.int32)}

    def as_arrays(self) -> dict[str, np.ndarray]:
        """All records at once, ``{"image": uint8 [N, H, W, C], "label": int32 [N]}``, read in
        order (what the evaluation embeds; the split must fit in memory). A variable-size
        source's images are resized and centre-cropped (``host_image.eval_transform``)."""
        transform = host_image.eval_transform(self.info) or (lambda record: record)
        images = np.empty((len(self), *self.info.image_shape), np.uint8)
        labels = np.empty((len(self),), np.int32)
        for index in range(len(self)):
            record = transform(self[index])
            images[index], labels[index] = record["image"], record["label"]
        return {"image": images, "label": labels}

    def __repr__(self) -> str:
        return f"TfdsSource({self.info.name}, n={len(self)}, shape={self.info.image_shape})"


def source_info(name: str, features: Any, image_key: str, label_key: str,
                image_size: int | None = None, channels: int | None = None) -> SourceInfo:
    """``SourceInfo`` from a TFDS ``FeaturesDict``. A uint8 image feature of fixed size is read
    as is; with ``image_size`` (required when the feature's size varies) the source is
    ``variable_size`` with ``image_shape = (image_size, image_size, channels)``, ``channels``
    defaulting to the feature's."""
    if image_key not in features or label_key not in features:
        raise ValueError(f"{name}: needs {image_key!r} and {label_key!r} features, has "
                         f"{sorted(features.keys())}.")
    image = features[image_key]
    shape = tuple(image.shape)
    if len(shape) != 3:
        raise ValueError(f"{name}: images have shape {shape}; expected [H, W, C].")
    if np.dtype(image.np_dtype) != np.uint8:
        raise ValueError(f"{name}: images are {np.dtype(image.np_dtype)}, expected uint8.")
    label = features[label_key]
    class_names = tuple(getattr(label, "names", None) or ())
    num_classes = getattr(label, "num_classes", None) or len(class_names)
    if not num_classes:
        raise ValueError(f"{name}: the {label_key!r} feature is not a ClassLabel.")
    if image_size is None:
        if any(side is None for side in shape):
            raise ValueError(
                f"{name}: images vary in size ({shape}); set --config.dataset.image_size=S "
                f"(e.g. 224) to crop them to S x S on the host.")
        if channels not in (None, shape[-1]):
            raise ValueError(f"{name}: channels={channels} needs image_size (images are "
                             f"{shape}).")
        return SourceInfo(name, shape, int(num_classes), class_names)
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"{name}: image_size must be a positive integer, got {image_size!r}.")
    channels = channels or shape[-1] or 3
    if channels not in (1, 3):
        raise ValueError(f"{name}: channels must be 1 or 3, got {channels}.")
    return SourceInfo(name, (image_size, image_size, channels), int(num_classes), class_names,
                      variable_size=True)


def _preparation_hint(name: str, data_dir: str | None) -> str:
    target = f" --data_dir={data_dir}" if data_dir else ""
    return (f"Prepare it once with `tfds build {name}{target} --file_format=array_record` "
            f"(or tfds.builder({name!r}, data_dir=...).download_and_prepare("
            f"file_format='array_record')), or let the main command do it with "
            f"--config.dataset.download=True.")


def _split_name(split: str, available: Sequence[str]) -> str:
    """Our "test" is TFDS "validation" for data sets without a labelled test split."""
    if split == "test" and available and "test" not in available and "validation" in available:
        return "validation"
    return split


def _builder(name: str, data_dir: str | None):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(f"tfds:{name}: TFDS has no data set named {name!r} (see "
                         f"tfds.list_builders() or the TFDS catalog).") from error


def download_and_prepare(dataset_name: str, data_dir: str | None = None) -> None:
    """Download and prepare (array_record) the TFDS data set inside ``dataset_name``
    (``tfds:<name>``, also as the base of ``captions:tfds:<name>``); what the main command's
    ``--config.dataset.download=True`` runs before reading the data."""
    if "tfds:" not in dataset_name:
        raise ValueError(f"dataset.download=True applies to tfds:<name> data sets only; "
                         f"{dataset_name!r} needs no download, so drop the option.")
    name = dataset_name.split("tfds:", 1)[1]
    _builder(name, data_dir).download_and_prepare(file_format="array_record")


def tfds_source(name: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                train_split: str = "train", test_split: str | None = None,
                download: bool = False, image_size: int | None = None,
                channels: int | None = None) -> TfdsSource:
    """The ``split`` ("train", "test" or any TFDS split string) of TFDS data set ``name``.

    ``train_split`` / ``test_split`` rename our "train" / "test" (e.g. "train[:90%]"); by
    default "test" is TFDS "test", or "validation" where there is no test split. ``seed`` is
    unused: the order is the sampler's. ``image_size`` / ``channels``: see the module
    docstring (variable-size images).
    """
    del seed
    builder = _builder(name, data_dir)
    if download:
        builder.download_and_prepare(file_format="array_record")
    available = list(builder.info.splits.keys())
    mapped = {"train": train_split, "test": test_split or _split_name("test", available)}
    tfds_split = mapped.get(split, split)
    try:
        data = builder.as_data_source(split=tfds_split)
    except Exception as error:  # tfds raises several types; say what is wrong and how to fix it
        if not builder.is_prepared():
            raise FileNotFoundError(f"tfds:{name} is not prepared in {builder.data_dir}. "
                                    f"{_preparation_hint(name, data_dir)}") from error
        if isinstance(error, NotImplementedError):
            raise ValueError(f"tfds:{name} in {builder.data_dir} is not in the array_record "
                             f"format needed for random access. "
                             f"{_preparation_hint(name, data_dir)}") from error
        raise ValueError(f"tfds:{name}: cannot read split {tfds_split!r} (splits: "
                         f"{', '.join(available) or 'unknown'}): {error}") from error
    image_key, label_key = builder.info.supervised_keys or ("image", "label")
    info = source_info(f"tfds:{name}", builder.info.features, image_key, label_key,
                       image_size=image_size, channels=channels)
    return TfdsSource(data, info, image_key=image_key, label_key=label_key)
