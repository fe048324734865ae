"""Bad input is refused before training, with a message that says what to do."""

import os

import numpy as np
import pytest

from contrastive_jax.data.sources import ArraySource, SourceInfo
from contrastive_jax.evaluate import knn_accuracy, linear_probe
from tests.cli import run_main


def test_dataset_smaller_than_one_global_batch(tmp_path):
    result = run_main(tmp_path, "--config.batch_size=8000", timeout=120)
    assert result.returncode == 2
    assert "fewer than one batch" in result.stderr and "Traceback" not in result.stderr


def test_images_of_the_wrong_shape_or_dtype():
    info = SourceInfo("toy", (28, 28, 1), 10)
    with pytest.raises(ValueError, match=r"shape \(32, 32, 1\), expected \(28, 28, 1\)"):
        ArraySource(np.zeros((4, 32, 32, 1), np.uint8), np.zeros(4), info)
    with pytest.raises(ValueError, match="must be uint8"):
        ArraySource(np.zeros((4, 28, 28, 1), np.float32), np.zeros(4), info)
    with pytest.raises(ValueError, match="empty"):
        ArraySource(np.zeros((0, 28, 28, 1), np.uint8), np.zeros(0), info)


def test_labels_out_of_range_in_evaluation():
    features = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    good, bad = np.arange(20) % 3, np.arange(20) % 5
    with pytest.raises(ValueError, match=r"test labels must lie in \[0, 3\)"):
        knn_accuracy(features, good, features, bad, num_classes=3)
    with pytest.raises(ValueError, match=r"train labels must lie in \[0, 3\)"):
        linear_probe(features, bad, features, good, num_classes=3)


def test_config_overrides_are_literals_never_evaluated(tmp_path):
    marker = tmp_path / "executed"
    payload = f"__import__('pathlib').Path('{marker}').touch()"
    result = run_main(tmp_path / "run", f"--config.encoder.widths={payload}", timeout=120)
    assert result.returncode != 0
    assert not marker.exists()


@pytest.mark.slow
def test_checkpoints_hold_no_pickle(tmp_path):
    result = run_main(tmp_path, "--config.eval.final_linear_probe=False",
                      "--config.eval.final_baselines=False")
    assert result.returncode == 0, result.stderr[-2000:]
    for root, _, files in os.walk(tmp_path / "checkpoints"):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                head = f.read(2)
            assert head not in (b"\x80\x03", b"\x80\x04", b"\x80\x05"), name  # pickle protocols
