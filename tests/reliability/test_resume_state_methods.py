"""Resume is bitwise for the methods with per-example or teacher state (issue 20): a run
interrupted right after a checkpoint and restarted ends with the same train state, bit for bit,
as the uninterrupted run (iSogCLR's u / tau / momentum tables, DINO's teacher and center
included), and iSogCLR's learned temperatures are written to the workdir with the labels."""

import json
import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from contrastive_jax.train import loop

STEPS = 6


def _config(name):
    import importlib

    config = importlib.import_module(f"configs.{name}").get_config("dataset=digits,scale=tiny")
    config.total_steps = STEPS
    config.checkpoint.every_steps = 3
    config.checkpoint.max_to_keep = 5
    config.eval.every_steps = 1000
    config.eval.final_linear_probe = False
    config.eval.final_baselines = False
    config.eval.plot_embedding = False
    config.progress_bar = False
    # A small MLP on two same-size views: two short compiles per run.
    config.encoder = dict(name="mlp", widths=(32,))
    config.augment = dict(name="weak", num_views=2, crop_scale=(0.5, 1.0), flip=True)
    return config


def _state(workdir, step=STEPS):
    return ocp.StandardCheckpointer().restore(str(workdir / "checkpoints" / str(step) / "state"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["isogclr", "dino"])
def test_restart_after_a_checkpoint_ends_bitwise_equal(name, tmp_path):
    uninterrupted, restarted = tmp_path / "uninterrupted", tmp_path / "restarted"
    loop.train_and_evaluate(_config(name), str(uninterrupted))
    # The same run stopped right after the step-3 checkpoint: drop what came later.
    shutil.copytree(uninterrupted, restarted)
    shutil.rmtree(restarted / "checkpoints" / str(STEPS))
    for path in (restarted / "summary.json", restarted / "per_example.npz"):
        path.unlink(missing_ok=True)
    summary = loop.train_and_evaluate(_config(name), str(restarted))
    assert summary["resumed_from_step"] == 3

    expected, actual = _state(uninterrupted), _state(restarted)
    pairs = jax.tree.leaves(jax.tree.map(lambda a, b: (np.asarray(a), np.asarray(b)),
                                         expected, actual), is_leaf=lambda x: isinstance(x, tuple))
    assert pairs and all(np.array_equal(a, b) for a, b in pairs)
    method_state = actual["method_state"]
    assert set(method_state) == ({"log_u", "tau", "tau_grad"} if name == "isogclr"
                                 else {"target", "center", "step"})
    if name == "isogclr":
        arrays = np.load(restarted / "per_example.npz")
        np.testing.assert_array_equal(arrays["tau"], method_state["tau"])
        assert arrays["label"].shape == arrays["tau"].shape == (1437,)  # digits' train split
        saved = json.loads((restarted / "summary.json").read_text())["per_example"]
        assert set(saved["tau_mean_by_class"]) == {str(c) for c in range(10)}
        assert np.isfinite(saved["tau_class_size_spearman"])
        # 6 steps of 16 within the first epoch: 96 examples have estimates.
        assert saved["u_seen_fraction"] == pytest.approx(96 / 1437)
        assert np.sum(arrays["tau"] != 0.1) == 96
