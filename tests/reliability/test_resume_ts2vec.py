"""Resume is bitwise for a time-series run: TS2Vec with DBPM (per-example loss memory, the
running weight average) and corrupted positive pairs, on a UCR set, interrupted right after a
checkpoint and restarted, ends with the same train state, bit for bit, as the uninterrupted
run."""

import importlib
import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from contrastive_jax.train import loop

STEPS = 6


def _config():
    config = importlib.import_module("configs.ts2vec").get_config("scale=tiny,dbpm=True")
    config.total_steps = STEPS
    config.method.corrupt_fraction = 0.25
    config.checkpoint.every_steps = 3
    config.checkpoint.max_to_keep = 5
    config.eval.every_steps = 1000
    config.eval.final_linear_probe = False
    config.eval.final_baselines = False
    config.eval.plot_embedding = False
    config.progress_bar = False
    return config


def _state(workdir, step=STEPS):
    return ocp.StandardCheckpointer().restore(str(workdir / "checkpoints" / str(step) / "state"))


@pytest.mark.slow
def test_ts2vec_dbpm_restart_after_a_checkpoint_ends_bitwise_equal(tmp_path):
    uninterrupted, restarted = tmp_path / "uninterrupted", tmp_path / "restarted"
    loop.train_and_evaluate(_config(), str(uninterrupted))
    shutil.copytree(uninterrupted, restarted)
    shutil.rmtree(restarted / "checkpoints" / str(STEPS))
    (restarted / "summary.json").unlink()
    summary = loop.train_and_evaluate(_config(), str(restarted))
    assert summary["resumed_from_step"] == 3

    expected, actual = _state(uninterrupted), _state(restarted)
    pairs = jax.tree.leaves(jax.tree.map(lambda a, b: (np.asarray(a), np.asarray(b)),
                                         expected, actual), is_leaf=lambda x: isinstance(x, tuple))
    assert pairs and all(np.array_equal(a, b) for a, b in pairs)
    memory = actual["method_state"]
    assert set(memory) == {"step", "sums", "counts", "history", "mu", "sigma"}
    assert int(memory["step"]) == STEPS and int(np.sum(memory["counts"])) == STEPS * 8
