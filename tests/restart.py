"""Interrupt-and-restart helpers for the bitwise-resume tests: a run's config made short with
a checkpoint every few steps, the run repeated from one of its checkpoints, and the saved
train states compared bit for bit."""

import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp

from contrastive_jax.train import loop


def short_run(config, *, steps, checkpoint_every):
    """``config`` for ``steps`` steps, a checkpoint every ``checkpoint_every`` (all kept), no
    evaluation, probe, baselines, plot or progress bar."""
    config.total_steps = steps
    config.checkpoint.every_steps = checkpoint_every
    config.checkpoint.max_to_keep = 5
    config.eval.every_steps = 1000
    config.eval.final_linear_probe = False
    config.eval.final_baselines = False
    config.eval.plot_embedding = False
    config.progress_bar = False
    return config


def saved_state(workdir, step):
    """The train state saved at ``step`` in ``workdir``, as nested NumPy arrays."""
    return ocp.StandardCheckpointer().restore(str(workdir / "checkpoints" / str(step) / "state"))


def run_and_restart(make_config, tmp_path, *, restart_step, later_files=("summary.json",)):
    """Run ``make_config()`` to the end in ``tmp_path/uninterrupted``; copy it to
    ``tmp_path/restarted`` as if stopped right after the ``restart_step`` checkpoint (later
    checkpoints and ``later_files`` removed) and run it again there. Returns both workdirs and
    the restarted run's summary."""
    uninterrupted, restarted = tmp_path / "uninterrupted", tmp_path / "restarted"
    loop.train_and_evaluate(make_config(), str(uninterrupted))
    shutil.copytree(uninterrupted, restarted)
    for checkpoint in (restarted / "checkpoints").iterdir():
        if checkpoint.name.isdigit() and int(checkpoint.name) > restart_step:
            shutil.rmtree(checkpoint)
    for name in later_files:
        (restarted / name).unlink(missing_ok=True)
    summary = loop.train_and_evaluate(make_config(), str(restarted))
    return uninterrupted, restarted, summary


def assert_bitwise_equal(expected, actual):
    """Every array of two restored states is identical (and there is at least one)."""
    pairs = jax.tree.leaves(jax.tree.map(lambda a, b: (np.asarray(a), np.asarray(b)),
                                         expected, actual), is_leaf=lambda x: isinstance(x, tuple))
    assert pairs and all(np.array_equal(a, b) for a, b in pairs)
