"""Resume is bitwise for the methods with per-example or teacher state (issue 20): a run
interrupted right after a checkpoint and restarted ends with the same train state, bit for bit,
as the uninterrupted run (iSogCLR's u / tau / momentum tables, DINO's teacher and center
included), and iSogCLR's learned temperatures are written to the workdir with the labels."""

import importlib
import json

import numpy as np
import pytest

from tests.restart import assert_bitwise_equal, run_and_restart, saved_state, short_run

STEPS = 6


def _config(name):
    config = importlib.import_module(f"configs.{name}").get_config("dataset=digits,scale=tiny")
    # A small MLP on two same-size views: two short compiles per run.
    config.encoder = dict(name="mlp", widths=(32,))
    config.augment = dict(name="weak", num_views=2, crop_scale=(0.5, 1.0), flip=True)
    return short_run(config, steps=STEPS, checkpoint_every=3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["isogclr", "dino"])
def test_restart_after_a_checkpoint_ends_bitwise_equal(name, tmp_path):
    # The same run stopped right after the step-3 checkpoint: what came later is dropped.
    uninterrupted, restarted, summary = run_and_restart(
        lambda: _config(name), tmp_path, restart_step=3,
        later_files=("summary.json", "per_example.npz"))
    assert summary["resumed_from_step"] == 3

    actual = saved_state(restarted, STEPS)
    assert_bitwise_equal(saved_state(uninterrupted, STEPS), actual)
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
