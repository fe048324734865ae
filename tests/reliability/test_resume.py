"""Crash-exact resume and graceful preemption of the main command.

A run killed with SIGKILL at random steps and restarted each time must end bitwise equal to an
uninterrupted run, with the same metrics rows: the checkpoint holds the data iterator's position
and every RNG is a function of (seed, step).
"""

import os
import random
import signal
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from tests.cli import read_rows, run_main, start_main

STEPS = 60
RUN = (f"--config.total_steps={STEPS}", "--config.checkpoint.every_steps=5",
       "--config.eval.every_steps=20", "--config.eval.final_linear_probe=False",
       "--config.eval.final_baselines=False", "--config.eval.plot_embedding=False")
TIMING_KEYS = ("steps_per_second",)


def final_state(workdir, step=STEPS):
    path = os.path.join(workdir, "checkpoints", str(step), "state")
    return ocp.StandardCheckpointer().restore(path)


def comparable(rows):
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]


def wait_for_step(process, workdir, step, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = read_rows(os.path.join(workdir, "metrics.jsonl"))
        if rows and rows[-1]["step"] >= step:
            return rows[-1]["step"]
        if process.poll() is not None:
            raise AssertionError(f"run ended early: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError(f"step {step} not reached in {timeout}s")


@pytest.mark.slow
def test_sigkill_at_three_random_steps_resumes_bitwise(tmp_path):
    reference = tmp_path / "uninterrupted"
    result = run_main(reference, *RUN)
    assert result.returncode == 0, result.stderr[-3000:]

    crashed = tmp_path / "crashed"
    kill_steps = sorted(random.Random(0).sample(range(6, STEPS - 4), 3))
    killed_at = []
    for target in kill_steps:
        process = start_main(crashed, *RUN)
        killed_at.append(wait_for_step(process, crashed, target))
        process.send_signal(signal.SIGKILL)
        process.wait()
    result = run_main(crashed, *RUN)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming" in result.stdout

    expected, actual = final_state(reference), final_state(crashed)
    leaves = jax.tree.leaves(jax.tree.map(lambda a, b: np.array_equal(a, b), expected, actual))
    assert leaves and all(leaves), f"final parameters differ (killed at steps {killed_at})"
    assert comparable(read_rows(crashed / "metrics.jsonl")) == comparable(
        read_rows(reference / "metrics.jsonl"))


# SIGINT takes the same path as SIGTERM after the handler: it runs in the slow tier.
@pytest.mark.parametrize("signum", [signal.SIGTERM,
                                    pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_stop_signal_saves_current_step_and_next_run_continues(tmp_path, signum):
    """SIGTERM (preemption) and SIGINT (Ctrl-C) both save the current step and exit."""
    workdir = tmp_path / "run"
    overrides = ("--config.total_steps=400", "--config.checkpoint.every_steps=1000",
                 "--config.eval.every_steps=1000", "--config.eval.final_linear_probe=False",
                 "--config.eval.final_baselines=False", "--config.eval.plot_embedding=False")
    process = start_main(workdir, *overrides)
    wait_for_step(process, workdir, 3)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr[-2000:]
    assert f"{signal.Signals(signum).name} received" in stderr
    saved = [int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit()]
    assert len(saved) == 1 and saved[0] >= 3
    assert f"saved a checkpoint at step {saved[0]}" in stderr
    assert "Re-run the same command to resume" in stderr

    result = run_main(workdir, *overrides[1:], f"--config.total_steps={saved[0] + 2}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"from step {saved[0]}" in result.stdout
