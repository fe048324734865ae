"""End to end for time series: ``configs/ts2vec.py`` at ``scale=tiny`` through the main
command writes the workdir artifacts, with TS2Vec's SVM accuracy in the learned row beside the
kNN, and a raw-series baseline row."""

import json

import numpy as np

import pytest

from tests.cli import read_rows, run_main


@pytest.mark.slow
def test_ts2vec_tiny_main_run(tmp_path):
    result = run_main(tmp_path, "--config.progress_bar=False",
                      config="configs/ts2vec.py:scale=tiny,dbpm=True", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "config.json").read_text())["dataset"]["name"] == (
        "ucr:ItalyPowerDemand")
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(r["finite"] == 1 and r["loss"] > 0 for r in rows)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["dataset"] == "ucr:ItalyPowerDemand" and summary["held_out_examples"] == 1029
    assert set(summary["results"]) == {"learned", "random_init", "raw_series"}
    for row in summary["results"].values():
        assert 0.0 <= row["svm_accuracy"] <= 1.0 and 0.0 <= row["knn"] <= 1.0
    assert summary["results"]["learned"]["feature_dim"] == 32
    assert summary["results"]["raw_series"]["feature_dim"] == 24
    # ItalyPowerDemand's two classes are easy for an RBF SVM even on the raw series
    assert summary["results"]["raw_series"]["svm_accuracy"] > 0.9
    # DBPM's memory at the end of training: summarised in summary.json, saved per series.
    report = summary["per_example"]
    assert set(report) == {"dbpm_memory_mu", "dbpm_memory_sigma", "dbpm_faulty_fraction",
                           "dbpm_noisy_fraction"}
    assert report["dbpm_memory_mu"] > 0 and 0.0 <= report["dbpm_faulty_fraction"] <= 1.0
    with np.load(tmp_path / "per_example.npz") as saved:
        assert saved["memory_mean"].shape == saved["counts"].shape == (67,)
        assert int(saved["counts"].sum()) == 3 * 8  # 3 steps of batch 8
    assert (tmp_path / "checkpoints").is_dir() and (tmp_path / "plots" / "loss.png").exists()
    assert "RBF SVM" in result.stdout
