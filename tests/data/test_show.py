"""The view-grid tool writes a PNG of originals and views."""

import os

import matplotlib.image
import pytest

from contrastive_jax.data import show

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "simclr.py")


def test_show_writes_a_grid_png(tmp_path, capsys):
    out = tmp_path / "views.png"
    show.main(["--dataset=digits", "--augment=weak", "--num_images=2", f"--out={out}"])
    pixels = matplotlib.image.imread(out)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0.05  # not a blank canvas
    assert "2 images x 2 views" in capsys.readouterr().out


@pytest.mark.skipif(not os.path.exists(CONFIG), reason="configs/simclr.py not present")
def test_config_supplies_dataset_and_augmentation():
    dataset, name, options = show.load_config_parts(CONFIG)
    assert isinstance(dataset, str) and dataset
    assert name in ("simclr", "none", "weak", "byol", "multicrop")
    assert "name" not in options
