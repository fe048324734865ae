"""End to end: the main command on a tiny setting writes every workdir artifact, resumes, and
reports bad input in one clear message."""

import json
import os

import pytest

from tests.cli import read_rows, run_main

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("simclr_tiny")
    result = run_main(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, result


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
    workdir, _ = finished_run
    result = run_main(workdir, "--config.total_steps=8")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "from step 6" in result.stdout
    rows = read_rows(workdir / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 9))
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["steps"] == 8 and summary["resumed_from_step"] == 6


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
