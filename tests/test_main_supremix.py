"""End to end for regression: ``configs/supremix.py`` at ``scale=tiny`` through the main command
on rotation-angle regression and on scikit-learn's diabetes writes ``summary.json`` with the
held-out ridge probe's MAE and R^2 for the learned, random-init and raw-input rows, and logs
the online ``probe_mae``."""

import json

import pytest

from tests.cli import read_rows, run_main


# Each is a subprocess of 25-70 s on a shared 2-core CPU: the slow tier.
@pytest.mark.slow
@pytest.mark.parametrize("dataset, raw_row, raw_dim", [
    ("tabular:diabetes", "raw_features", 10),
    ("rotated:mnist5k", "raw_pixels", 784),
])
def test_supremix_tiny_main_run(tmp_path, dataset, raw_row, raw_dim):
    result = run_main(tmp_path, config=f"configs/supremix.py:dataset={dataset},scale=tiny",
                      timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(r["finite"] == 1 and r["loss"] > 0 for r in rows)
    online = [r["probe_mae"] for r in rows if "probe_mae" in r]
    assert len(online) == 2 and all(m > 0 for m in online)  # eval.every_steps=2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == "supremix" and summary["dataset"] == dataset
    assert set(summary["results"]) == {"learned", "random_init", raw_row}
    for row in summary["results"].values():
        assert row["ridge_mae"] > 0 and row["ridge_r2"] <= 1 and row["ridge_l2"] > 0
        assert "knn" not in row  # the bins are not probed as classes
    assert summary["results"][raw_row]["feature_dim"] == raw_dim
    # the online probe of the last step is the final table's learned row
    assert online[-1] == pytest.approx(summary["results"]["learned"]["ridge_mae"], rel=1e-6)
    # diabetes: a linear fit of the raw features is the classic baseline (MAE ~43-47)
    if dataset == "tabular:diabetes":
        assert 35 < summary["results"][raw_row]["ridge_mae"] < 55
    assert "held-out ridge probe" in result.stdout and "MAE" in result.stdout
