"""The code-search table's per-method rows and verdict on hand-made run records."""

import pytest

from experiments import codesearch_stdlib as table
from experiments import report, spec


def record(cell, seed, learned, bm25=0.280, untrained=0.02):
    metrics = {"learned.mrr@10": learned, "learned.recall@1": learned / 2,
               "bm25.mrr@10": bm25, "bm25.recall@1": 0.163,
               "random_init.mrr@10": untrained, "random_init.recall@1": untrained / 2}
    return {"cell": cell, "seed": seed, "status": "ok", "metrics": metrics}


def test_rows_have_mean_std_per_method_and_leave_out_cells_not_run():
    runs = [record("dual_encoder", s, v) for s, v in enumerate((0.30, 0.32, 0.34))]
    runs += [record("mw_auc", s, 0.25) for s in range(2)]
    rows = report.method_rows(table.EXPERIMENT, {"runs": runs})
    assert set(rows) == {"bm25", "untrained", "dual_encoder", "mw_auc"}
    assert rows["dual_encoder"]["mrr@10"]["mean"] == pytest.approx(0.32)
    assert rows["dual_encoder"]["mrr@10"]["std"] == pytest.approx(0.02)
    assert rows["bm25"]["mrr@10"]["values"] == [0.28] * 3 and rows["mw_auc"]["mrr@10"]["n"] == 2
    assert rows["untrained"]["recall@1"]["mean"] == pytest.approx(0.01)
    page = "\n".join(report._method_rows_table(table.EXPERIMENT, {"rows": rows}))
    assert "| `dual_encoder` | 0.32 ± 0.02 |" in page and "Not run" in page


def test_verdict_dual_encoder_against_bm25():
    better = {"dual_encoder": {"learned.mrr@10": [0.31, 0.32, 0.33],
                               "bm25.mrr@10": [0.28] * 3}}
    assert spec.judge(table.verdict, better)[0] == "holds"
    worse = {"dual_encoder": {"learned.mrr@10": [0.23, 0.24, 0.22],
                              "bm25.mrr@10": [0.28] * 3}}
    assert spec.judge(table.verdict, worse)[0] == "contradicted"
