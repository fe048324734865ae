"""Resume is bitwise for a time-series run: TS2Vec with DBPM (per-example loss memory, the
running weight average) and corrupted positive pairs, on a UCR set, interrupted right after a
checkpoint and restarted, ends with the same train state, bit for bit, as the uninterrupted
run."""

import importlib

import numpy as np
import pytest

from tests.restart import assert_bitwise_equal, run_and_restart, saved_state, short_run

STEPS = 6


def _config():
    config = importlib.import_module("configs.ts2vec").get_config("scale=tiny,dbpm=True")
    config.method.corrupt_fraction = 0.25
    return short_run(config, steps=STEPS, checkpoint_every=3)


@pytest.mark.slow
def test_ts2vec_dbpm_restart_after_a_checkpoint_ends_bitwise_equal(tmp_path):
    uninterrupted, restarted, summary = run_and_restart(_config, tmp_path, restart_step=3)
    assert summary["resumed_from_step"] == 3

    actual = saved_state(restarted, STEPS)
    assert_bitwise_equal(saved_state(uninterrupted, STEPS), actual)
    memory = actual["method_state"]
    assert set(memory) == {"step", "sums", "counts", "history", "mu", "sigma"}
    assert int(memory["step"]) == STEPS and int(np.sum(memory["counts"])) == STEPS * 8
