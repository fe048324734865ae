"""End to end: the main command on a tiny setting writes every workdir artifact, resumes, and
reports bad input in one clear message."""

import json
import math
import os
import time

import pytest

from tests.cli import read_rows, run_main

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("simclr_tiny")
    cache = tmp_path_factory.mktemp("jax_cache")
    started = time.time()
    result = run_main(workdir, f"--config.compilation_cache_dir={cache}")
    result.elapsed = time.time() - started
    assert result.returncode == 0, result.stderr[-3000:]
    result.cache = cache
    return workdir, result


def test_compiled_train_step_is_cached(finished_run):
    _, result = finished_run
    assert any(name.startswith("jit_step_under_mesh") for name in os.listdir(result.cache))


def _snapshot(directory):
    """``{relative path: (bytes, mtime_ns)}`` of every file under ``directory``."""
    out = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def _cosine_lr(step, *, peak, warmup, total):
    """Linear warmup from 0, then cosine decay to 0 at ``total`` (closed form)."""
    if step < warmup:
        return peak * step / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * min(step - warmup, total - warmup) / (total - warmup)))


def test_architecture_change_with_resume_force_is_refused_and_changes_nothing(finished_run):
    workdir, _ = finished_run
    before = _snapshot(workdir)
    result = run_main(workdir, "--config.method.proj_dim=8", "--config.resume=force", timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-3000:]  # no TensorStore "Exception ignored" noise
    assert lines[0].startswith("error: the checkpoint at step 6")
    assert "other shapes" in lines[0]
    assert "params.projector.output.kernel: checkpoint (32, 16) vs config (32, 8)" in lines[0]
    assert _snapshot(workdir) == before  # config.json and checkpoints untouched, none moved
    assert not os.path.exists(str(workdir / "checkpoints") + "_unreadable")


def test_workdir_artifacts(finished_run):
    workdir, result = finished_run
    assert json.loads((workdir / "config.json").read_text())["method"]["name"] == "simclr"
    rows = read_rows(workdir / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(r["finite"] == 1 and r["loss"] > 0 for r in rows)
    assert "knn_accuracy" in rows[2] and "knn_accuracy" in rows[5]
    events = os.listdir(workdir / "tensorboard")
    assert any(name.startswith("events.out.tfevents") for name in events)
    steps = sorted(int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit())
    assert steps[-1] == 6 and len(steps) <= 3
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["resumed_from_step"] == 0
    for name in ("learned", "random_init", "raw_pixels"):
        assert 0.0 <= summary["results"][name]["linear_probe"] <= 1.0
        assert 0.0 <= summary["results"][name]["knn"] <= 1.0
    # Raw pixels of MNIST are far above chance for a linear probe.
    assert summary["results"]["raw_pixels"]["linear_probe"] > 0.8
    assert os.path.getsize(workdir / "plots" / "loss.png") > 1000
    assert "linear probe" in result.stdout and "raw_pixels" in result.stdout


def test_rerun_with_more_steps_resumes(finished_run):
    workdir, first = finished_run
    with open(workdir / "checkpoints" / "6" / "data" / "metadata") as f:
        wall_at_6 = json.load(f)["wall_time_s"]  # stored with the checkpoint
    assert 0 < wall_at_6 < first.elapsed
    started = time.time()
    result = run_main(workdir, "--config.total_steps=8")
    elapsed = time.time() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert "from step 6" in result.stdout
    rows = read_rows(workdir / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 9))
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["steps"] == 8 and summary["resumed_from_step"] == 6
    # wall_time_s adds the first invocation's time (up to its checkpoint) to this one's.
    assert wall_at_6 < summary["wall_time_s"] <= wall_at_6 + elapsed + 0.1

    # The schedule is the one for the new total_steps at the global step (row k logs the lr
    # of step k-1): at step 6 the 6-step schedule had reached 0, the 8-step one has not.
    config = json.loads((workdir / "config.json").read_text())
    shape = dict(peak=config["optimizer"]["learning_rate"],
                 warmup=config["optimizer"]["warmup_steps"])
    for row in rows[6:]:
        expected = _cosine_lr(row["step"] - 1, total=8, **shape)
        assert row["learning_rate"] == pytest.approx(expected, rel=1e-5)
    warning = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    old_lr, new_lr = _cosine_lr(6, total=6, **shape), _cosine_lr(6, total=8, **shape)
    assert warning == [
        "warning: total_steps changed from 6 to 8: the learning-rate schedule is now the one "
        f"for 8 steps, so at step 6 the learning rate goes from {old_lr:.3g} to {new_lr:.3g}."]


@pytest.mark.parametrize("overrides,message", [
    (("--config.no_such_key=1",), "unknown config key 'no_such_key'"),
    (("--config.batch_size=abc",), "--config.batch_size=abc: invalid literal"),
    (("--config.method.name=simclrr",), "Unknown method 'simclrr'. Valid method names:"),
    (("--config.batch_size=36",), "batch_size=36 is not divisible by the 8 devices"),
    (("--config.optimizer.learning_rate=nan",), "learning_rate must be finite"),
])
def test_bad_input_fails_fast_with_a_clear_message(tmp_path, overrides, message):
    result = run_main(tmp_path / "run", *overrides, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_workdir_with_a_different_config_is_refused(finished_run):
    workdir, _ = finished_run
    result = run_main(workdir, "--config.method.temperature=0.7", timeout=120)
    assert result.returncode == 2
    assert "method.temperature: 0.2 -> 0.7" in result.stderr
    assert "--config.resume=force" in result.stderr
