"""``tfds:<name>`` through ``tfds.testing.mock_data`` (USE_CODE works without TensorFlow)."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from contrastive_jax.data.pipeline import make_train_loader
from contrastive_jax.data.sources import SourceInfo
from configs.common import base_config
from contrastive_jax.data.tfds_source import TfdsSource, download_and_prepare, tfds_source
from contrastive_jax.registry import DATASETS


def _mock(num_examples):
    return tfds.testing.mock_data(num_examples=num_examples,
                                  policy=tfds.testing.MockPolicy.USE_CODE)


def test_mnist_records_and_info():
    with _mock(24):
        source = tfds_source("mnist", "train", download=True)
        record = source[3]
    assert len(source) == 24
    assert record["image"].dtype == np.uint8 and record["image"].shape == (28, 28, 1)
    assert record["label"].dtype == np.int32 and 0 <= int(record["label"]) < 10
    assert source.info == SourceInfo("tfds:mnist", (28, 28, 1), 10, tuple("0123456789"))


def test_as_arrays_stacks_the_records_in_order():
    with _mock(12):
        source = tfds_source("mnist", "train", download=True)
        arrays = source.as_arrays()
        records = [source[i] for i in range(len(source))]
    assert arrays["image"].shape == (12, 28, 28, 1) and arrays["image"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["image"], np.stack([r["image"] for r in records]))
    np.testing.assert_array_equal(arrays["label"], [int(r["label"]) for r in records])
    assert arrays["label"].dtype == np.int32


def test_registry_prefix_and_class_names_from_the_class_label():
    with _mock(8):  # no download=True: as_data_source is mocked, so nothing is prepared
        cifar = DATASETS.build("tfds:cifar10", "test", data_dir=None, seed=0)
        fashion = DATASETS.build("tfds:fashion_mnist", "train", data_dir=None, seed=0)
    assert cifar.info.image_shape == (32, 32, 3) and cifar.info.num_classes == 10
    assert cifar[0]["image"].shape == (32, 32, 3)
    assert fashion.info.class_names[:3] == ("T-shirt/top", "Trouser", "Pullover")


def test_grain_loader_batches_a_tfds_source():
    with _mock(32):
        source = tfds_source("fashion_mnist", "train", download=True)
        batch = next(iter(make_train_loader(source, global_batch_size=8, seed=0,
                                            process_index=0, process_count=1)))
    assert batch["image"].shape == (8, 28, 28, 1) and batch["image"].dtype == np.uint8
    assert batch["label"].shape == (8,) and batch["label"].dtype == np.int32


def test_unknown_dataset_names_the_catalog():
    with pytest.raises(ValueError, match="no data set named 'not_a_dataset_xyz'"):
        tfds_source("not_a_dataset_xyz", "train")


def test_unprepared_data_dir_says_how_to_prepare(tmp_path):
    with pytest.raises(FileNotFoundError, match="tfds build mnist --data_dir=.*array_record") as raised:
        tfds_source("mnist", "train", data_dir=str(tmp_path))
    # The option it names is a key of every config.
    assert "--config.dataset.download=True" in str(raised.value)
    assert base_config().dataset.download is False


def test_dataset_download_prepares_the_tfds_data_set(monkeypatch, tmp_path):
    prepared = []
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare",
                        lambda self, **kwargs: prepared.append((self.name, kwargs)))
    download_and_prepare("tfds:mnist", str(tmp_path))
    download_and_prepare("captions:tfds:fashion_mnist", str(tmp_path))
    assert prepared == [("mnist", {"file_format": "array_record"}),
                        ("fashion_mnist", {"file_format": "array_record"})]
    with pytest.raises(ValueError, match="applies to tfds:<name> data sets only"):
        download_and_prepare("mnist5k", None)


def test_the_main_loop_downloads_when_the_config_asks(tmp_path):
    """``dataset.download=True`` reaches ``download_and_prepare`` before the data is read; the
    mocked data then trains and is evaluated (mock_data serves records without a prepared
    directory)."""
    from unittest import mock

    from configs import simclr
    from contrastive_jax.train import loop

    asked = []
    config = simclr.get_config("scale=tiny")
    config.dataset.name, config.dataset.download = "tfds:mnist", True
    config.total_steps, config.progress_bar = 1, False
    config.eval.final_linear_probe = config.eval.final_baselines = False
    config.eval.plot_embedding = False
    config.eval.every_steps = config.checkpoint.every_steps = 1000
    with _mock(64), mock.patch.object(  # inside mock_data, which patches it too
            tfds.core.DatasetBuilder, "download_and_prepare",
            lambda self, **kwargs: asked.append(self.name)):
        summary = loop.train_and_evaluate(config, str(tmp_path / "run"))
    assert asked == ["mnist"] and summary["steps"] == 1


def test_empty_split_is_an_error():
    with _mock(0), pytest.raises(ValueError, match="split is empty"):
        tfds_source("mnist", "train", download=True)


def test_variable_size_images_need_an_image_size():
    with _mock(2), pytest.raises(ValueError, match=r"\(None, None, 3\).*dataset.image_size"):
        tfds_source("oxford_flowers102", "train", download=True)


def test_imagenet2012_reads_variable_size_records_and_evaluates_at_image_size():
    """Mocked imagenet2012 images vary in size; with image_size the source says so, records
    keep their own size, and the evaluation arrays are a PIL resize + centre crop of them."""
    from PIL import Image

    with _mock(5):
        source = DATASETS.build("tfds:imagenet2012", "train", image_size=12)
        records = [source[i] for i in range(len(source))]
        arrays = source.as_arrays()
    assert source.info.variable_size and source.info.image_shape == (12, 12, 3)
    assert source.info.num_classes == 1000
    assert len({r["image"].shape for r in records}) > 1
    assert arrays["image"].shape == (5, 12, 12, 3)
    for record, image in zip(records, arrays["image"]):
        h, w, _ = record["image"].shape
        short = round(12 / 0.875)  # 14
        size = (short, round(h * short / w)) if w <= h else (round(w * short / h), short)
        expected = np.asarray(Image.fromarray(record["image"]).resize(size, Image.BILINEAR))
        top, left = (size[1] - 12) // 2, (size[0] - 12) // 2
        np.testing.assert_array_equal(image, expected[top:top + 12, left:left + 12])
    assert np.array_equal(arrays["label"], [r["label"] for r in records])


def test_image_size_on_a_fixed_size_set_converts_channels_and_crops_on_the_host():
    with _mock(4):
        source = DATASETS.build("tfds:mnist", "train", image_size=20, channels=3)
    record = source[0]
    assert source.info.variable_size and source.info.image_shape == (20, 20, 3)
    assert record["image"].shape == (28, 28, 3)
    assert np.array_equal(record["image"][..., 0], record["image"][..., 2])


def test_a_record_of_unexpected_shape_or_dtype_fails_with_its_index():
    info = SourceInfo("tfds:fake", (4, 4, 3), 2)
    records = [{"image": np.zeros((4, 4, 3), np.uint8), "label": 1},
               {"image": np.zeros((4, 5, 3), np.uint8), "label": 0},
               {"image": np.zeros((4, 4, 3), np.float32), "label": 0}]
    source = TfdsSource(records, info)
    assert source[0]["label"] == 1
    with pytest.raises(ValueError, match="record 1 .*shape \\(4, 5, 3\\)"):
        source[1]
    with pytest.raises(ValueError, match="record 2 has a float32"):
        source[2]


def test_test_split_falls_back_to_validation_only_when_there_is_no_test_split():
    from contrastive_jax.data.tfds_source import _split_name

    assert _split_name("test", ["train", "validation"]) == "validation"
    assert _split_name("test", ["train", "test", "validation"]) == "test"
    assert _split_name("test", []) == "test"      # splits unknown: keep the name
    assert _split_name("train[:10%]", ["train"]) == "train[:10%]"


class _PreparedBuilder:
    """A prepared builder whose ``as_data_source`` fails the way TFDS does for the given error."""

    data_dir = "/data/tfds/mnist/3.0.1"

    def __init__(self, error):
        self.error = error
        self.info = type("Info", (), {"splits": {"train": None, "test": None}})()

    def is_prepared(self):
        return True

    def as_data_source(self, split):
        raise self.error


def test_non_array_record_data_says_how_to_rebuild_it(monkeypatch):
    # TFDS raises NotImplementedError from as_data_source for tfrecord-only data.
    monkeypatch.setattr("contrastive_jax.data.tfds_source._builder",
                        lambda name, data_dir: _PreparedBuilder(NotImplementedError("tfrecord")))
    with pytest.raises(ValueError, match="not in the array_record format.*tfds build mnist"):
        tfds_source("mnist", "train")


def test_other_read_errors_name_the_split_and_the_available_ones(monkeypatch):
    monkeypatch.setattr("contrastive_jax.data.tfds_source._builder",
                        lambda name, data_dir: _PreparedBuilder(KeyError("train[:200%]")))
    expected = r"cannot read split 'train\[:5%\]' \(splits: train, test\)"
    with pytest.raises(ValueError, match=expected):
        tfds_source("mnist", "train", train_split="train[:5%]")
