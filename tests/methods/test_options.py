"""Declared method options: every method's keys and defaults live in one frozen dataclass, and a
config with an undeclared key, a missing required key or a value out of range fails in
``validate_config``, before any data is loaded or anything built, listing the valid options."""

import ast
import dataclasses
import glob
import importlib
import math
import os

import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax import main
from contrastive_jax.methods.options import MethodOptions, describe, options_from_config
from contrastive_jax.registry import METHODS
from contrastive_jax.train import build
from contrastive_jax.train.build import build_method, build_views, validate_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "configs", "*.py"))
                 if os.path.basename(p) not in ("__init__.py", "common.py"))


def tiny(name="simclr", dataset="digits"):
    module = importlib.import_module(f"configs.{name}")
    default = module.get_config("").dataset.name
    if default.startswith(("ucr:", "composites:", "rotated:", "tabular:",
                            "graph:")):  # not image classes
        return module.get_config("scale=tiny")
    captions = default.startswith("captions:")
    return module.get_config(f"dataset={'captions:' if captions else ''}{dataset},scale=tiny")


def test_a_misspelled_option_fails_before_data_or_compile(tmp_path, monkeypatch, capsys):
    config = tiny()
    config.method.temprature = 0.1
    with pytest.raises(ValueError) as error:
        validate_config(config)
    message = str(error.value)
    assert "unknown option(s) 'temprature' (did you mean 'temperature'?)" in message
    # The valid options with their defaults ("(required)" for those without one).
    for listed in ("temperature (required)", "proj_dim (required)", "proj_norm='batch'",
                   "proj_last_norm=False"):
        assert listed in message
    # Through the main entry point: rc 2, one line, and nothing loaded, built or written.
    monkeypatch.setattr(build, "build_parts", lambda config: pytest.fail("data was loaded"))
    assert main.run(config, str(tmp_path / "run")) == 2
    stderr = capsys.readouterr().err.strip()
    assert stderr.startswith("error: config.method has unknown option(s) 'temprature'")
    assert len(stderr.splitlines()) == 1
    assert not os.path.exists(tmp_path / "run" / "config.json")


def test_a_missing_required_option_fails_listing_the_options():
    config = tiny()
    config.method = dict(name="simclr", proj_hidden_dim=32, proj_dim=16, proj_layers=2)
    with pytest.raises(ValueError, match=r"missing required option\(s\) \['temperature'\]; "
                                         r"valid options of method 'simclr': .*temperature "
                                         r"\(required\)"):
        validate_config(config)


@pytest.mark.parametrize("name", CONFIGS)
def test_each_config_sets_only_declared_options_and_a_near_miss_is_named(name):
    config = tiny(name)
    options = build.method_options(config)
    method_type = METHODS.get(config.method.name)
    assert type(options) is method_type.options_type
    assert issubclass(method_type.options_type, MethodOptions)
    declared = {field.name for field in dataclasses.fields(options)}
    assert set(config.method.keys()) - {"name"} <= declared
    for field in dataclasses.fields(options):
        assert field.name in describe(type(options))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.proj_dim = 3
    key = sorted(set(config.method.keys()) - {"name"})[0]
    config.method[key + "x"] = config.method[key]
    with pytest.raises(ValueError, match=rf"'{key}x' \(did you mean '{key}'\?\)"):
        validate_config(config)


def test_declared_defaults_fill_what_the_config_leaves_out():
    config = tiny("byol")
    del config.method["momentum_schedule"], config.method["predictor"]
    options = build.method_options(config)
    assert (options.momentum_schedule, options.predictor, options.proj_norm) == (
        "cosine", "mlp", "batch")
    # Lists from a command line or JSON become tuples.
    swav = options_from_config(METHODS.get("swav").options_type,
                               dict(tiny("swav").method.to_dict(), crops_for_assign=[0, 1]))
    assert swav.crops_for_assign == (0, 1)


TEMPERATURE_CONFIGS = [n for n in CONFIGS if "temperature" in tiny(n).method]


@pytest.mark.parametrize("name", TEMPERATURE_CONFIGS)
@pytest.mark.parametrize("value", [-1.0, 0.0])
def test_a_temperature_that_is_not_positive_is_rejected(name, value):
    config = tiny(name)
    config.method.temperature = value
    with pytest.raises(ValueError, match=rf"config.method.temperature must be > 0, got {value}"):
        validate_config(config)


@pytest.mark.parametrize("name, key, value, message", [
    ("simclr", "proj_dim", 0, r"proj_dim must be >= 1, got 0"),
    ("simclr", "proj_layers", 0, r"proj_layers must be >= 1, got 0"),
    ("simclr", "proj_norm", "layer", r"proj_norm must be one of \('batch', 'none'\)"),
    ("supcon", "base_temperature", 0.0, r"base_temperature must be > 0"),
    ("dclw", "sigma", -0.5, r"sigma must be > 0"),
    ("byol", "predictor", "deep", r"predictor must be one of \('mlp', 'linear', 'none'\)"),
    ("byol", "pred_hidden_dim", 0, r"pred_hidden_dim must be >= 1"),
    ("moco_v2", "base_momentum", 1.5, r"base_momentum must be an EMA momentum in \[0, 1\]"),
    ("swav", "epsilon", 0.0, r"epsilon must be > 0"),
    ("swav", "sinkhorn_iterations", 0, r"sinkhorn_iterations must be >= 1"),
    ("vicreg", "cov_weight", -1.0, r"cov_weight must be >= 0"),
    ("mv_infonce", "aggregation", "sum", r"aggregation must be one of \('joint', 'pairwise'\)"),
    ("clip", "embed_dim", 0, r"embed_dim must be >= 1"),
    ("clip", "max_logit_scale", 0.0, r"max_logit_scale must be > 0"),
])
def test_method_options_out_of_range_are_rejected_at_config_time(name, key, value, message):
    config = tiny(name)
    config.method[key] = value
    with pytest.raises(ValueError, match=message):
        validate_config(config)


@pytest.mark.parametrize("section, key, value, message", [
    ("eval", "knn_k", 0, r"config.eval.knn_k must be a positive integer .*got 0"),
    ("eval", "knn_temperature", 0.0, r"config.eval.knn_temperature must be > 0, got 0.0"),
    ("eval", "every_steps", 0, r"config.eval.every_steps must be a positive integer"),
    ("eval", "batch_size", -5, r"config.eval.batch_size must be a positive integer"),
    ("eval", "probe_l2_grid", (), r"config.eval.probe_l2_grid must be a non-empty list"),
    ("eval", "probe_l2_grid", (0.1, -1.0), r"probe_l2_grid must be a non-empty list of L2"),
    ("checkpoint", "every_steps", 0, r"config.checkpoint.every_steps must be a positive"),
    ("checkpoint", "max_to_keep", 0, r"config.checkpoint.max_to_keep must be a positive"),
])
def test_evaluation_and_checkpoint_ranges_are_checked(section, key, value, message):
    config = tiny()
    config[section][key] = value
    with pytest.raises(ValueError, match=message):
        validate_config(config)


def test_methods_get_the_run_sizes_explicitly():
    config = tiny("byol")
    config.total_steps = 40
    method = build_method(config, image_shape=(8, 8, 1), make_views=build_views(config.augment),
                          num_classes=10)
    assert (method.batch_size, method.total_steps, method.num_views) == (16, 40, 2)
    base = config.method.base_momentum
    # BYOL's schedule 1 - (1 - base)(cos(pi k / K) + 1) / 2 over the K = total_steps given.
    for step in (0, 10, 20, 40):
        expected = 1 - (1 - base) * (math.cos(math.pi * step / 40) + 1) / 2
        np.testing.assert_allclose(float(method.momentum(jnp.asarray(step))), expected,
                                   rtol=1e-6)


def test_no_method_reads_the_experiment_config():
    """In the code (not the messages): no ``self.config`` and no ``<...>config.<key>`` read."""
    for path in glob.glob(os.path.join(REPO, "contrastive_jax", "methods", "*.py")):
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name,
                                                                           ast.Attribute)):
                owner = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
                assert owner != "config" and not (owner == "self" and node.attr == "config"), (
                    f"{os.path.basename(path)}:{node.lineno} reads {owner}.{node.attr}")
