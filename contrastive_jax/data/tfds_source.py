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

Image-text sets (``tfds:coco_captions``, ``tfds:laion400m/images``) name their caption feature
with ``text_key`` (``--config.dataset.text_key=caption``; a nested one as ``captions/text``,
where one of an image's several captions is picked per example by a seeded RNG). Records then
gain ``"text": int32 [text_length]``, tokenized by a byte-level BPE (``data.text_tokenizer``)
trained once on the first ``tokenizer_examples`` captions of the train split (deterministic, so
the test split and a resumed run rebuild the same vocabulary of ``text_vocab_size`` ids). A set
without a ``ClassLabel`` (LAION) has ``num_classes = 0`` and ``"label": -1``: the evaluation is
then image-text retrieval instead of kNN / probe. TFDS needs TensorFlow to build these two
data sets (``pip install tensorflow-cpu``).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from contrastive_jax.data import host_image
from contrastive_jax.data.sources import SourceInfo
from contrastive_jax.data.text_tokenizer import BpeTokenizer


class TfdsSource:
    """A random-access view of a TFDS split in the source contract.

    data: any sequence of TFDS example dicts (``tfds.data_source`` output); ``image_key`` and
    ``label_key`` name the features to keep. Every record is checked against
    ``info.image_shape`` and uint8 as it is read, so a bad record fails with its index.
    ``text_key`` + ``tokenizer``: records gain ``"text"`` (see the module docstring); a source
    with ``info.num_classes == 0`` has no labels and reads ``"label": -1``.
    """

    def __init__(self, data: Sequence[dict[str, Any]], info: SourceInfo, *,
                 image_key: str = "image", label_key: str = "label",
                 text_key: str | None = None, tokenizer: BpeTokenizer | None = None,
                 seed: int = 0):
        if len(data) == 0:
            raise ValueError(f"{info.name}: the split is empty; choose another split.")
        if (text_key is None) != (tokenizer is None):
            raise ValueError("TfdsSource: text_key and tokenizer go together.")
        self.data = data
        self.info = info
        self.image_key = image_key
        self.label_key = label_key
        self.text_key = text_key
        self.tokenizer = tokenizer
        self.seed = seed

    def _label(self, record) -> np.ndarray:
        if self.info.num_classes == 0:
            return np.asarray(-1, np.int32)
        return np.asarray(record[self.label_key], np.int32)

    def _with_text(self, index: int, record, out: dict) -> dict:
        if self.text_key is None:
            return out
        text = pick_caption(record, self.text_key, seed=self.seed, index=index,
                            name=self.info.name)
        return {**out, "text": self.tokenizer.encode([text])[0]}

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
            return self._with_text(index, record, {"image": image, "label": self._label(record)})
        if image.dtype != np.uint8 or image.shape != tuple(self.info.image_shape):
            raise ValueError(
                f"{self.info.name}: record {index} has a {image.dtype} image of shape "
                f"{image.shape}; expected uint8 {tuple(self.info.image_shape)}.")
        return self._with_text(index, record, {"image": image, "label": self._label(record)})

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


def pick_caption(record, text_key: str, *, seed: int, index: int, name: str) -> str:
    """The caption at ``text_key`` (``"a/b"`` reads ``record["a"]["b"]``) as a string; of
    several (an array of captions), one chosen by ``default_rng((seed, index))``."""
    value = record
    for part in text_key.split("/"):
        value = value[part]
    texts = np.atleast_1d(np.asarray(value, dtype=object)).ravel()
    if len(texts) == 0:
        raise ValueError(f"{name}: record {index} has no caption at {text_key!r}.")
    text = texts[0] if len(texts) == 1 else texts[
        np.random.default_rng((seed, index)).integers(len(texts))]
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _has_feature(features, key: str) -> bool:
    for part in key.split("/"):
        if not hasattr(features, "keys") or part not in features.keys():
            return False
        features = features[part]
        features = getattr(features, "feature", features)  # a Sequence's inner features
    return True


def source_info(name: str, features: Any, image_key: str, label_key: str,
                image_size: int | None = None, channels: int | None = None,
                text_key: str | None = None) -> SourceInfo:
    """``SourceInfo`` from a TFDS ``FeaturesDict``. A uint8 image feature of fixed size is read
    as is; with ``image_size`` (required when the feature's size varies) the source is
    ``variable_size`` with ``image_shape = (image_size, image_size, channels)``, ``channels``
    defaulting to the feature's. With ``text_key`` (an image-text set) the label is optional:
    without one, ``num_classes = 0``."""
    if text_key is not None and not _has_feature(features, text_key):
        raise ValueError(f"{name}: no text feature {text_key!r} (dataset.text_key); features: "
                         f"{sorted(features.keys())}.")
    unlabelled = text_key is not None and label_key not in features
    if image_key not in features or (label_key not in features and not unlabelled):
        raise ValueError(f"{name}: needs {image_key!r} and {label_key!r} features, has "
                         f"{sorted(features.keys())}.")
    image = features[image_key]
    shape = tuple(image.shape)
    if len(shape) != 3:
        raise ValueError(f"{name}: images have shape {shape}; expected [H, W, C].")
    if np.dtype(image.np_dtype) != np.uint8:
        raise ValueError(f"{name}: images are {np.dtype(image.np_dtype)}, expected uint8.")
    label = None if unlabelled else features[label_key]
    class_names = tuple(getattr(label, "names", None) or ())
    num_classes = 0 if unlabelled else getattr(label, "num_classes", None) or len(class_names)
    if not num_classes and not unlabelled:
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


def _read_captions(data, text_key: str, image_key: str, count: int, seed: int, name: str):
    return [pick_caption(data[i], text_key, seed=seed, index=i, name=name)
            for i in range(min(count, len(data)))]


@functools.lru_cache(maxsize=4)
def _train_tokenizer(name: str, data_dir: str | None, train_split: str, text_key: str,
                     image_key: str, vocab_size: int, max_len: int, examples: int,
                     seed: int) -> BpeTokenizer:
    """The BPE of the first ``examples`` captions of the train split (cached per process, so
    the train and test sources share one)."""
    import tensorflow_datasets as tfds

    builder = _builder(name, data_dir)
    try:
        data = builder.as_data_source(split=train_split,
                                      decoders={image_key: tfds.decode.SkipDecoding()})
    except (TypeError, ValueError):  # a builder without partial decoding reads whole records
        data = builder.as_data_source(split=train_split)
    texts = _read_captions(data, text_key, image_key, examples, seed, f"tfds:{name}")
    return BpeTokenizer.train(texts, vocab_size=vocab_size, max_len=max_len)


def tfds_source(name: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                train_split: str = "train", test_split: str | None = None,
                download: bool = False, image_size: int | None = None,
                channels: int | None = None, text_key: str | None = None,
                text_length: int = 77, text_vocab_size: int = 49_408,
                tokenizer_examples: int = 100_000) -> TfdsSource:
    """The ``split`` ("train", "test" or any TFDS split string) of TFDS data set ``name``.

    ``train_split`` / ``test_split`` rename our "train" / "test" (e.g. "train[:90%]"); by
    default "test" is TFDS "test", or "validation" where there is no test split. ``seed``
    picks one of several captions per image; the order is the sampler's. ``image_size`` /
    ``channels``: see the module docstring (variable-size images). ``text_key``,
    ``text_length`` (CLIP's 77), ``text_vocab_size`` (CLIP's 49,408) and
    ``tokenizer_examples``: image-text sets, see the module docstring.
    """
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
                       image_size=image_size, channels=channels, text_key=text_key)
    tokenizer = None
    if text_key is not None:
        tokenizer = _train_tokenizer(name, data_dir, train_split, text_key, image_key,
                                     int(text_vocab_size), int(text_length),
                                     int(tokenizer_examples), seed)
    return TfdsSource(data, info, image_key=image_key, label_key=label_key, text_key=text_key,
                      tokenizer=tokenizer, seed=seed)
