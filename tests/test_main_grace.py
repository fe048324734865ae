"""End to end for graphs: ``configs/grace.py`` at ``scale=tiny`` through the main command writes
the workdir artifacts with the node probe (mean +- std over the split draws) and k-means NMI /
ARI for the learned encoder, its random init and the raw node features; a run killed with
SIGKILL and resumed ends bitwise equal to an uninterrupted one.

The batch is one graph, so these runs use one device (the other end-to-end tests simulate 8;
on 8 the command fails naming the fix).
"""

import json
import os
import signal
import subprocess

import jax
import numpy as np
import pytest

from tests.cli import ENV, REPO, main_command, read_rows, run_main
from tests.reliability.test_resume import comparable, final_state, wait_for_step

ONE_DEVICE = {k: v for k, v in ENV.items() if k != "XLA_FLAGS"}
TINY = "configs/grace.py:scale=tiny"


def run(workdir, *overrides, config=TINY, timeout=600):
    return subprocess.run(main_command(workdir, *overrides, config=config), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=ONE_DEVICE)


def test_several_devices_fail_with_the_fix(tmp_path):
    result = run_main(tmp_path, config=TINY, timeout=300)  # 8 simulated devices
    assert result.returncode != 0
    assert "the batch is one graph, which runs on one device" in result.stderr
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow
def test_grace_tiny_main_run(tmp_path):
    result = run(tmp_path, config="configs/grace.py:scale=tiny,loss=gcool,pot_weight=0.2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "config.json").read_text())["dataset"]["name"] == "graph:sbm"
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(r["finite"] == 1 and r["loss"] > 0 and "pot_loss" in r for r in rows)
    assert 0.0 <= rows[-1]["node_probe_accuracy"] <= 1.0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["dataset"] == "graph:sbm" and summary["nodes"] == 64
    assert summary["node_probe_draws"] == 2 and summary["held_out_examples"] == 52
    assert set(summary["results"]) == {"learned", "random_init", "raw_features"}
    for row in summary["results"].values():
        assert len(row["linear_probe_draws"]) == 2
        assert row["linear_probe"] == pytest.approx(np.mean(row["linear_probe_draws"]))
        assert row["linear_probe_std"] == pytest.approx(np.std(row["linear_probe_draws"]))
        assert 0 <= row["nmi"] <= 1 and -1 <= row["ari"] <= 1
    assert summary["results"]["learned"]["feature_dim"] == 16
    assert summary["results"]["raw_features"]["feature_dim"] == 32
    assert "NMI" in result.stdout and "raw_features" in result.stdout
    assert (tmp_path / "plots" / "loss.png").exists()


@pytest.mark.slow
def test_sigkill_and_resume_is_bitwise(tmp_path):
    steps = 200
    overrides = (f"--config.total_steps={steps}", "--config.checkpoint.every_steps=10",
                 "--config.eval.every_steps=50", "--config.eval.final_baselines=False",
                 "--config.eval.plot_embedding=False")
    reference = tmp_path / "uninterrupted"
    result = run(reference, *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    crashed = tmp_path / "crashed"
    process = subprocess.Popen(main_command(crashed, *overrides, config=TINY), cwd=REPO,
                               env=ONE_DEVICE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    killed_at = wait_for_step(process, crashed, 35)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = [int(s) for s in os.listdir(crashed / "checkpoints") if s.isdigit()]
    assert saved and max(saved) < steps, saved  # killed mid-run: the resume has work to do
    result = run(crashed, *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming" in result.stdout
    expected, actual = final_state(reference, steps), final_state(crashed, steps)
    leaves = jax.tree.leaves(jax.tree.map(lambda a, b: np.array_equal(a, b), expected, actual))
    assert leaves and all(leaves), f"final parameters differ (killed at step {killed_at})"
    assert comparable(read_rows(crashed / "metrics.jsonl")) == comparable(
        read_rows(reference / "metrics.jsonl"))
    ours, theirs = (json.loads((d / "summary.json").read_text())["results"]["learned"]
                    for d in (crashed, reference))
    assert ours == theirs
