"""Every config in configs/ builds, validates, and names only registered components."""

import glob
import importlib
import os

import pytest

from configs import common
from contrastive_jax.data import build_source
from contrastive_jax.train.build import validate_config

CONFIG_FILES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "configs", "*.py")))
CONFIG_MODULES = [os.path.basename(p)[:-3] for p in CONFIG_FILES
                  if os.path.basename(p) not in ("__init__.py", "common.py")]


@pytest.mark.parametrize("name", CONFIG_MODULES)
@pytest.mark.parametrize("arg", ["", "scale=tiny"])
def test_config_validates(name, arg):
    config = importlib.import_module(f"configs.{name}").get_config(arg)
    validate_config(config)
    assert set(common.TOP_LEVEL_KEYS) <= set(config.keys())


def test_parse_arg_types_and_errors():
    args = common.parse_arg("n=3,name=x,flag=True", n=1, name="a", flag=False)
    assert (args.n, args.name, args.flag) == (3, "x", True)
    with pytest.raises(ValueError, match="valid arguments: flag, n, name"):
        common.parse_arg("bogus=1", n=1, name="a", flag=False)
    with pytest.raises(ValueError, match="not key=value"):
        common.parse_arg("n", n=1)


def test_validate_rejects_bad_values():
    config = importlib.import_module("configs.simclr").get_config("scale=tiny")
    config.unlock()
    for key, value, message in [("batch_size", 0, "positive integer"),
                                ("total_steps", -1, "positive integer")]:
        bad = config.copy_and_resolve_references()
        bad[key] = value
        with pytest.raises(ValueError, match=message):
            validate_config(bad)
    bad = config.copy_and_resolve_references()
    bad.optimizer.learning_rate = float("nan")
    with pytest.raises(ValueError, match="learning_rate must be finite"):
        validate_config(bad)
    bad = config.copy_and_resolve_references()
    bad.encoder.name = "resnet9000"
    with pytest.raises(ValueError, match="Unknown encoder 'resnet9000'.*convnet"):
        validate_config(bad)
    bad = config.copy_and_resolve_references()
    bad.typo_key = 1
    with pytest.raises(ValueError, match="unknown top-level key"):
        validate_config(bad)


@pytest.mark.parametrize("dataset", ["tabular:diabetes", "tabular:autompg"])
@pytest.mark.parametrize("fraction", [1.0, 0.2])
def test_supremix_config_batch_fits_its_training_split(dataset, fraction):
    """configs/supremix.py trains every tabular cell of experiments/supremix_regression: main
    refuses a training split smaller than one batch (auto-mpg at 20% has 63 rows)."""
    supremix = importlib.import_module("configs.supremix")
    config = supremix.get_config(f"dataset={dataset},train_fraction={fraction}")
    train = build_source(dataset, "train", seed=0, train_fraction=fraction)
    assert config.batch_size <= len(train), (config.batch_size, len(train))
