"""The evaluation protocols of issue 23 through the main command at tiny scale: a long-tailed
training set of textured digits, with low-label probes, writes every protocol's keys."""

import json
import os

import numpy as np
import pytest

from tests.cli import run_main


@pytest.mark.slow
def test_long_tailed_textured_run_with_low_label_probes(tmp_path):
    result = run_main(tmp_path, "--config.dataset.name=textured:digits",
                      "--config.dataset.imbalance=10", "--config.eval.low_label_shots=(1,5)",
                      "--config.eval.low_label_draws=2", "--config.eval.final_baselines=False",
                      "--config.eval.plot_embedding=False")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(tmp_path, "summary.json")) as f:
        summary = json.load(f)
    counts = summary["train_class_counts"]
    assert counts[0] == 137 and counts[-1] == 13 and np.all(np.diff(counts) <= 0)  # digits
    row = summary["results"]["learned"]
    for key in ("linear_probe_head", "linear_probe_tail", "knn_head", "knn_tail",
                "linear_probe_class9", "texture_linear_probe", "texture_knn",
                "low_label_probe_1shot", "low_label_knn_5shot", "low_label_probe_5shot_std"):
        assert 0.0 <= row[key] <= 1.0, key
    # The probes read the balanced train split, not the long-tailed training set.
    assert summary["held_out_examples"] == 360
