"""A non-finite loss or gradient never reaches the parameters, and the run says where it was."""

import json
import os

import types

import jax
import numpy as np
import pytest

from configs import simclr
from contrastive_jax.train import build, mesh as mesh_lib
from contrastive_jax.train.loop import NonFiniteGuard, NonFiniteLossError
from contrastive_jax.train.optim import make_optimizer
from contrastive_jax.train.state import plan_train_state
from contrastive_jax.train.step import make_train_step
from tests.cli import run_main


def _tiny_step():
    config = simclr.get_config("scale=tiny")
    parts = build.build_parts(config)
    mesh = mesh_lib.make_mesh(config.mesh)
    optimizer, schedule = make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, sharding, create = plan_train_state(parts.method, optimizer,
                                                     parts.train_source[0], mesh)
    step = make_train_step(graphdef=graphdef, method=parts.method, optimizer=optimizer,
                           schedule=schedule, seed=0, state_sharding=sharding,
                           batch_sharding=mesh_lib.batch_sharding(mesh),
                           metrics_sharding=mesh_lib.replicated(mesh))
    return step, create(jax.random.key(0)), mesh


def test_nan_batch_leaves_the_state_unchanged():
    step, state, mesh = _tiny_step()
    before = jax.tree.map(np.asarray, state)
    images = np.full((32, 28, 28, 1), np.nan, np.float32)  # float images pass through as-is
    batch = mesh_lib.global_batch({"image": images, "label": np.zeros(32, np.int32)},
                                  mesh_lib.batch_sharding(mesh))
    new_state, metrics = step(state, batch)
    assert int(metrics["finite"]) == 0 and not np.isfinite(float(metrics["loss"]))
    assert int(new_state.step) == 1 and int(new_state.skipped_steps) == 1
    for name in ("params", "model_state", "opt_state"):
        leaves = jax.tree.leaves(jax.tree.map(np.array_equal, getattr(before, name),
                                              jax.tree.map(np.asarray, getattr(new_state, name))))
        assert all(leaves), name


def test_nonfinite_stop_names_step_and_keeps_last_checkpoint(tmp_path):
    # A huge learning rate makes the second step's loss overflow.
    result = run_main(tmp_path, "--config.optimizer.learning_rate=1e30",
                      "--config.optimizer.warmup_steps=0", "--config.checkpoint.every_steps=1")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Non-finite loss or gradient at step" in result.stderr
    assert "loss=" in result.stderr and "--config.nonfinite=skip" in result.stderr
    steps = sorted(int(s) for s in os.listdir(tmp_path / "checkpoints") if s.isdigit())
    assert steps and f"last good checkpoint (step {steps[-1]}) is intact" in result.stderr
    assert "Traceback" not in result.stderr


def test_nonfinite_skip_counts_steps(tmp_path):
    result = run_main(tmp_path, "--config.optimizer.learning_rate=1e30",
                      "--config.optimizer.warmup_steps=0", "--config.nonfinite=skip",
                      "--config.eval.every_steps=1000", "--config.eval.final_linear_probe=False",
                      "--config.eval.final_baselines=False", "--config.eval.plot_embedding=False")
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert rows[-1]["step"] == 6 and rows[-1]["skipped_steps"] >= 1
    assert rows[-1]["skipped_steps"] == sum(1 for r in rows if r["finite"] == 0)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["skipped_steps"] == rows[-1]["skipped_steps"]


class _Checkpoints:
    def __init__(self, last):
        self.last = last

    def latest_step(self):
        return self.last


def _steps(finite_flags, start_skipped=0):
    """Host stand-ins for (state, metrics) after each step: ``skipped_steps`` as the jitted
    step counts it, ``finite`` per step."""
    skipped, out = start_skipped, []
    for step, finite in enumerate(finite_flags, 1):
        skipped += 1 - finite
        metrics = {"finite": np.int32(finite), "loss": np.float32(1.0 if finite else np.nan)}
        out.append((step, types.SimpleNamespace(skipped_steps=np.int32(skipped)), metrics))
    return out


def test_stop_names_the_first_bad_step_at_the_next_check():
    steps = _steps([1, 1, 0, 1, 0, 1])
    guard = NonFiniteGuard("stop", types.SimpleNamespace(skipped_steps=np.int32(0)),
                           _Checkpoints(2))
    for step, state, metrics in steps[:2]:
        guard.record(step, metrics)
    guard.check(steps[1][1])  # a log step with nothing wrong: no error
    for step, state, metrics in steps[2:]:
        guard.record(step, metrics)
    with pytest.raises(NonFiniteLossError, match=r"at step 3 \(loss=nan\).*checkpoint \(step 2\)"):
        guard.check(steps[-1][1])


def test_stop_after_a_skip_run_counts_only_new_bad_steps():
    restored = types.SimpleNamespace(skipped_steps=np.int32(4))  # skipped by an earlier run
    guard = NonFiniteGuard("stop", restored, _Checkpoints(None))
    for step, state, metrics in _steps([1, 1], start_skipped=4):
        guard.record(step, metrics)
    guard.check(state)
    for step, state, metrics in _steps([1, 0], start_skipped=4):
        guard.record(step + 2, metrics)
    with pytest.raises(NonFiniteLossError, match="at step 4 .*no checkpoint was written yet"):
        guard.check(state)


def test_skip_never_raises():
    guard = NonFiniteGuard("skip", types.SimpleNamespace(skipped_steps=np.int32(0)),
                           _Checkpoints(None))
    for step, state, metrics in _steps([0, 0, 1]):
        guard.record(step, metrics)
    guard.check(state)
