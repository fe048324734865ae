"""End to end for dense retrieval: ``configs/dual_encoder.py`` at ``scale=tiny`` through the
main command (InfoNCE, mined hard negatives with STAR, MW-AUC) writes summary.json with the
held-out retrieval rows; a second run on the same workdir resumes and reuses the tokenizer."""

import json

import pytest

from tests.cli import read_rows, run_main

CONFIG = "configs/dual_encoder.py:scale=tiny"


def check_summary(workdir, stdout):
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["dataset"] == "codesearch:stdlib" and summary["held_out_examples"] == 466
    assert set(summary["results"]) == {"learned", "random_init", "bm25"}
    for row in summary["results"].values():
        for key in ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10"):
            assert 0.0 <= row[key] <= 1.0
        assert row["recall@1"] <= row["mrr@10"] <= row["recall@10"]
    assert abs(summary["results"]["bm25"]["mrr@10"] - 0.280) < 0.0005
    assert 0.0 <= summary["results"]["learned"]["alignment"] <= 4.0
    assert "mrr@10" in stdout and (workdir / "tokenizer.json").exists()
    return summary


@pytest.mark.slow
@pytest.mark.parametrize("options", ["loss=infonce", "hard_negatives=2,star=True",
                                     "loss=mw_auc,hard_negatives=1"])
def test_dual_encoder_tiny_main_run(tmp_path, options):
    result = run_main(tmp_path, config=f"{CONFIG},{options}", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    check_summary(tmp_path, result.stdout)
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(r["finite"] == 1 for r in rows)
    assert "mrr@10" in rows[1] and "knn_accuracy" not in rows[1]  # online eval every 2 steps
    if "hard_negatives" in options:  # mined before step 3 (mine_every=2), not before
        assert [r["mined_fraction"] for r in rows] == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.slow
def test_dual_encoder_resumes_with_its_tokenizer(tmp_path):
    first = run_main(tmp_path, "--config.total_steps=2", config=f"{CONFIG},hard_negatives=1",
                     timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    tokenizer = (tmp_path / "tokenizer.json").read_text()
    stamp = (tmp_path / "tokenizer.json").stat().st_mtime_ns
    second = run_main(tmp_path, "--config.total_steps=4", config=f"{CONFIG},hard_negatives=1",
                      timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming" in second.stdout
    assert (tmp_path / "tokenizer.json").stat().st_mtime_ns == stamp  # read, not rewritten
    assert (tmp_path / "tokenizer.json").read_text() == tokenizer
    summary = check_summary(tmp_path, second.stdout)
    assert summary["steps"] == 4 and summary["resumed_from_step"] == 2
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [r["mined_fraction"] for r in rows] == [0.0, 0.0, 1.0, 1.0]


def test_missing_corpus_file_is_reported(tmp_path):
    result = run_main(tmp_path / "run", config=f"{CONFIG},dataset=text:{tmp_path}/none.jsonl",
                      timeout=300)
    assert result.returncode == 2
    assert "no such file or directory" in result.stderr


@pytest.mark.slow
def test_pretrained_dual_encoder_tiny_main_run(tmp_path):
    """configs/contriever_codesearch.py: 2 Contriever steps on the batches' texts, then 4
    supervised steps; the held-out rows as the dual encoder's."""
    result = run_main(tmp_path, config="configs/contriever_codesearch.py:scale=tiny",
                      timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    check_summary(tmp_path, result.stdout)
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["pretraining"] for r in rows] == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert all(r["finite"] == 1 for r in rows)
