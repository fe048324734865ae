"""``main.run`` end to end on real image data: an image folder of mixed sizes / modes /
formats with two corrupt files (resume equal to an uninterrupted run), and mocked TFDS sets
including variable-size imagenet2012. All slow: each trains and evaluates for real."""

import json
import os
import shutil
import warnings

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from PIL import Image

from configs import simclr
from tests.data.image_folder import CORRUPT

pytestmark = pytest.mark.slow

PER_CLASS = 30  # 300 images over the ten digits


def write_digit_folder(root: str) -> list[str]:
    """mnist5k digits upscaled to 20-64 px (independent height and width), half RGB (the digit
    in a random colour on a random background), half grayscale, JPEG / PNG with mixed-case
    extensions, plus two corrupt files. Returns the corrupt paths."""
    from contrastive_jax.data.sources import mnist5k

    source = mnist5k("train")
    rng = np.random.default_rng(0)
    extensions = (".png", ".jpg", ".JPEG", ".PNG")
    for digit in range(10):
        os.makedirs(os.path.join(root, str(digit)), exist_ok=True)
        indices = np.flatnonzero(source.labels == digit)[:PER_CLASS]
        for n, index in enumerate(indices):
            h, w = (int(v) for v in rng.integers(20, 65, size=2))
            digit_image = Image.fromarray(source.images[index][..., 0]).resize((w, h))
            if n % 2:
                ink, paper = rng.integers(0, 256, (2, 3))
                alpha = np.asarray(digit_image, np.float64)[..., None] / 255.0
                pixels = alpha * ink + (1 - alpha) * paper
                digit_image = Image.fromarray(pixels.astype(np.uint8), "RGB")
            digit_image.save(os.path.join(root, str(digit), f"{n:03d}{extensions[n % 4]}"))
    corrupt = [os.path.join(root, "3", "broken.jpg"), os.path.join(root, "7", "empty.png")]
    for path, payload in zip(corrupt, (CORRUPT, b"")):
        with open(path, "wb") as f:
            f.write(payload)
    return corrupt


def folder_config(root: str):
    config = simclr.get_config("dataset=folder,scale=tiny")
    config.dataset.name = f"folder:{root}"
    config.dataset.image_size = 16
    config.progress_bar = False
    config.checkpoint.max_to_keep = 5
    return config


def final_state(workdir, step):
    return ocp.StandardCheckpointer().restore(
        os.path.join(workdir, "checkpoints", str(step), "state"))


def rows(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [{k: v for k, v in json.loads(line).items() if k != "steps_per_second"}
                for line in f if line.strip()]


def test_image_folder_trains_evaluates_and_resumes_exactly(tmp_path):
    from contrastive_jax import main
    from contrastive_jax.train import build

    root = str(tmp_path / "digits")
    corrupt = write_digit_folder(root)
    config = folder_config(root)
    with warnings.catch_warnings(record=True):
        parts = build.build_parts(config)
    assert sorted(parts.train_source.bad_files + parts.test_source.bad_files) == sorted(corrupt)
    assert len(parts.train_source) + len(parts.test_source) == 10 * PER_CLASS
    assert parts.train_source.info.class_names == tuple(str(d) for d in range(10))

    reference = str(tmp_path / "reference")
    assert main.run(config, reference) == 0
    steps = config.total_steps
    names = set(os.listdir(reference))
    assert {"config.json", "metrics.jsonl", "checkpoints", "summary.json", "tensorboard",
            "plots"} <= names, names
    assert os.path.getsize(os.path.join(reference, "plots", "loss.png")) > 1000
    summary = json.load(open(os.path.join(reference, "summary.json")))
    assert summary["steps"] == steps
    assert summary["bad_files"] == len(corrupt) == 2
    for row in ("learned", "random_init", "raw_pixels"):
        assert 0.0 <= summary["results"][row]["linear_probe"] <= 1.0
    saved = sorted(int(s) for s in os.listdir(os.path.join(reference, "checkpoints"))
                   if s.isdigit())
    assert saved[-1] == steps and len(saved) >= 2

    # "Killed" after the first checkpoint: later checkpoints and the final outputs are gone.
    resumed = str(tmp_path / "resumed")
    shutil.copytree(reference, resumed)
    for step in saved[1:]:
        shutil.rmtree(os.path.join(resumed, "checkpoints", str(step)))
    shutil.rmtree(os.path.join(resumed, "plots"))
    os.remove(os.path.join(resumed, "summary.json"))
    assert main.run(config, resumed) == 0
    expected, actual = final_state(reference, steps), final_state(resumed, steps)
    same = jax.tree.leaves(jax.tree.map(lambda a, b: np.array_equal(a, b), expected, actual))
    assert same and all(same)
    assert rows(resumed) == rows(reference)
    assert json.load(open(os.path.join(resumed, "summary.json")))["resumed_from_step"] == saved[0]
    assert os.path.exists(os.path.join(resumed, "plots", "loss.png"))


@pytest.mark.parametrize("name,options", [
    ("tfds:mnist", {}),
    ("tfds:cifar10", {}),
    ("tfds:imagenet2012", {"image_size": 16}),
])
def test_mocked_tfds_sets_train_and_finish_the_final_evaluation(tmp_path, name, options):
    import tensorflow_datasets as tfds

    from contrastive_jax import main

    config = simclr.get_config("scale=tiny")
    config.dataset.name = name
    for key, value in options.items():
        config.dataset[key] = value
    config.total_steps, config.progress_bar = 2, False
    config.eval.every_steps = 2
    config.eval.plot_embedding = False
    with tfds.testing.mock_data(num_examples=64, policy=tfds.testing.MockPolicy.USE_CODE):
        assert main.run(config, str(tmp_path / "run")) == 0
    summary = json.load(open(tmp_path / "run" / "summary.json"))
    assert summary["steps"] == 2
