"""folder:<path> on small folders written here with PIL (mixed sizes, modes, extension case)."""

import os

import numpy as np
import pytest
from PIL import Image

from contrastive_jax.data.sources import build_source
from tests.data.image_folder import write_folder

PER_CLASS = {"cat": 12, "dog": 10, "emu": 5}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("images"))
    write_folder(root, PER_CLASS, corrupt=("cat/broken.jpg", "emu/zzz.PNG"))
    with open(os.path.join(root, "cat", "notes.txt"), "w") as f:
        f.write("not an image extension: ignored")
    return root


def test_classes_split_sizes_and_records(folder):
    with pytest.warns(UserWarning, match=r"skipping 2 file\(s\).*broken.jpg.*zzz.PNG"):
        train = build_source(f"folder:{folder}", "train", image_size=16)
    test = build_source(f"folder:{folder}", "test", image_size=16)
    assert train.info.class_names == ("cat", "dog", "emu") and train.info.num_classes == 3
    assert train.info.variable_size and train.info.image_shape == (16, 16, 3)
    # held out per class: round(0.1 n) clamped to [1, n - 1] of the n files incl. corrupt ones
    totals = {"cat": 13, "dog": 10, "emu": 6}
    held = {c: min(max(1, round(0.1 * n)), n - 1) for c, n in totals.items()}
    counts = np.bincount(test.labels, minlength=3) + np.bincount(train.labels, minlength=3)
    assert len(train) + len(test) + 2 == sum(totals.values())
    assert sorted(train.bad_files + test.bad_files) == sorted(
        [os.path.join(folder, "cat", "broken.jpg"), os.path.join(folder, "emu", "zzz.PNG")])
    assert counts.tolist() == [12, 10, 5]
    assert len(test) + len(test.bad_files) == sum(held.values())
    assert not set(train.files) & set(test.files)
    for source in (train, test):
        for i in range(len(source)):
            record = source[i]
            expected = np.asarray(Image.open(source.files[i]).convert("RGB"))
            np.testing.assert_array_equal(record["image"], expected)
            assert record["label"] == source.info.class_names.index(
                os.path.basename(os.path.dirname(source.files[i])))


def test_the_split_is_fixed_and_independent_of_the_seed(folder):
    a = build_source(f"folder:{folder}", "test", seed=0)
    b = build_source(f"folder:{folder}", "test", seed=5)
    assert a.files == b.files


def test_grayscale_output_channel(folder):
    source = build_source(f"folder:{folder}", "test", image_size=8, channels=1)
    record = source[0]
    assert source.info.image_shape == (8, 8, 1) and record["image"].shape[-1] == 1
    expected = np.asarray(Image.open(source.files[0]).convert("RGB").convert("L"))
    np.testing.assert_array_equal(record["image"][..., 0], expected)


def test_on_bad_file_error_is_fatal_and_names_the_files(folder):
    with pytest.raises(ValueError, match=r"2 file\(s\).*broken.jpg.*on_bad_file=skip"):
        build_source(f"folder:{folder}", "train", on_bad_file="error")
    with pytest.raises(ValueError, match="on_bad_file must be one of"):
        build_source(f"folder:{folder}", "train", on_bad_file="ignore")


def test_train_and_val_subfolders_are_the_splits(tmp_path):
    write_folder(str(tmp_path / "train"), {"a": 3, "b": 4})
    write_folder(str(tmp_path / "val"), {"a": 2, "b": 1}, seed=1)
    train = build_source(f"folder:{tmp_path}", "train")
    test = build_source(f"folder:{tmp_path}", "test")
    assert (len(train), len(test)) == (7, 3)
    assert test.labels.tolist() == [0, 0, 1]
    assert all("/val/" in f for f in test.files)


def test_a_file_that_fails_only_when_decoded_is_replaced_and_counted(tmp_path):
    write_folder(str(tmp_path), {"a": 3, "b": 3})
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "a" / "001.jpg")
    whole = open(tmp_path / "a" / "001.jpg", "rb").read()
    with open(tmp_path / "a" / "001.jpg", "wb") as f:  # header intact, pixels cut
        f.write(whole[:len(whole) * 2 // 3])
    with Image.open(tmp_path / "a" / "001.jpg") as header_only:
        assert header_only.size == (64, 64)
    source = build_source(f"folder:{tmp_path}", "train", held_out_fraction=0.3)
    index = source.files.index(str(tmp_path / "a" / "001.jpg"))
    with pytest.warns(UserWarning, match="001.jpg.*next readable file"):
        record = source[index]
    np.testing.assert_array_equal(record["image"],
                                  np.asarray(Image.open(source.files[index + 1]).convert("RGB")))
    assert record["label"] == source.labels[index + 1]
    assert source.bad_files == [str(tmp_path / "a" / "001.jpg")]
    strict = build_source(f"folder:{tmp_path}", "train", held_out_fraction=0.3,
                          on_bad_file="error")
    with pytest.raises(ValueError, match="001.jpg: cannot decode"):
        strict[index]


def test_missing_empty_and_one_class_folders_fail_saying_what_was_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        build_source(f"folder:{tmp_path / 'nope'}", "train")
    with pytest.raises(ValueError, match=r"found 0 sub-folder\(s\), 0 with images.*0 entries"):
        build_source(f"folder:{tmp_path}", "train")
    write_folder(str(tmp_path / "one"), {"only": 4})
    (tmp_path / "one" / "empty").mkdir()
    with pytest.raises(ValueError, match=r"found 2 sub-folder\(s\), 1 with images \(only: 4\)"):
        build_source(f"folder:{tmp_path / 'one'}", "train")


def test_unknown_options_fail_naming_the_valid_ones(folder):
    with pytest.raises(ValueError, match="takes no option.*'size'.*image_size, channels"):
        build_source(f"folder:{folder}", "train", size=3)
    with pytest.raises(ValueError, match="takes no option.*'image_size'"):
        build_source("mnist5k", "train", image_size=3)


def test_eval_loader_centre_crops_every_record_of_a_folder(folder):
    from contrastive_jax.data.host_image import center_crop
    from contrastive_jax.data.pipeline import make_eval_loader

    source = build_source(f"folder:{folder}", "test", image_size=8)
    batches = list(make_eval_loader(source, batch_size=4, process_index=0, process_count=1))
    images = np.concatenate([batch["image"] for batch, _ in batches])[:len(source)]
    labels = np.concatenate([batch["label"] for batch, _ in batches])[:len(source)]
    assert images.shape == (len(source), 8, 8, 3)
    for index in range(len(source)):
        np.testing.assert_array_equal(images[index], center_crop(source[index]["image"], 8))
    assert labels.tolist() == source.labels.tolist()

def test_the_folder_config_builds_host_crops_from_the_augmentation(folder):
    from configs import simclr
    from contrastive_jax.train import build

    config = simclr.get_config("dataset=folder,scale=tiny")
    with pytest.raises(ValueError, match="--config.dataset.name=folder:"):
        build.validate_config(config)
    config.dataset.name = f"folder:{folder}"
    build.validate_config(config)
    with pytest.warns(UserWarning, match="skipping 2"):
        parts = build.build_parts(config)
    assert parts.train_source.info.image_shape == (64, 64, 3)
    assert parts.host_crop.size == 64 and parts.host_crop.num_views == 2
    assert parts.host_crop.scales == ((0.08, 1.0),) * 2
    assert parts.host_crop.ratios == ((3 / 4, 4 / 3),) * 2
    config.augment = dict(name="multicrop", num_local=2)
    with pytest.raises(ValueError, match="multi-crop views of several sizes"):
        with pytest.warns(UserWarning):
            build.build_parts(config)


def test_the_train_loader_falls_back_to_the_bad_file_policy(tmp_path):
    """A truncated JPEG read lazily by the loader is handed to source[i], which substitutes
    the next readable file and counts it."""
    from contrastive_jax.data.host_image import HostCrop
    from contrastive_jax.data.pipeline import make_train_loader

    write_folder(str(tmp_path), {"a": 4, "b": 4})
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "b" / "002.jpg")
    whole = open(tmp_path / "b" / "002.jpg", "rb").read()
    with open(tmp_path / "b" / "002.jpg", "wb") as f:
        f.write(whole[:len(whole) * 2 // 3])
    source = build_source(f"folder:{tmp_path}", "train", image_size=8)
    crop = HostCrop(size=8, scales=((0.5, 1.0),), ratios=((0.75, 4 / 3),))
    loader = make_train_loader(source, global_batch_size=len(source), seed=0, host_crop=crop,
                               process_index=0, process_count=1, num_workers=0)
    with pytest.warns(UserWarning, match="002.jpg"):
        batch = next(iter(loader))
    assert batch["image"].shape == (len(source), 1, 8, 8, 3)
    assert source.bad_files == [str(tmp_path / "b" / "002.jpg")]
