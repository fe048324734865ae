"""The sentence-embedding methods from the command line at tiny scale (needs the
``sentences:stdlib`` source and the text encoder with dropout)."""

import json

import pytest

from tests.cli import read_rows, run_main

METHODS = ["simcse", "esimcse", "debcse", "whitenedcse", "contriever"]


@pytest.mark.slow
@pytest.mark.parametrize("name", METHODS)
def test_tiny_main_run(tmp_path, name):
    result = run_main(tmp_path, config=f"configs/{name}.py:scale=tiny", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["dataset"]["name"] == "sentences:stdlib" and config["method"]["name"] == name
    assert (tmp_path / "tokenizer.json").exists()
    rows = [r for r in read_rows(tmp_path / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(r["finite"] == 1 and r["loss"] > 0 for r in rows)
    if name == "debcse":  # the share of pairs kept as negatives reaches the user's log
        assert all(0.0 <= r["negatives_kept"] <= 1.0 for r in rows)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == name and summary["steps"] == 4


@pytest.mark.slow
def test_simcse_tiny_main_run_reports_the_sentence_similarity_proxy(tmp_path):
    """The final summary has the same-docstring retrieval proxy for the learned and the
    random-init encoder, and the online evaluation its MRR@10."""
    result = run_main(tmp_path, config="configs/simcse.py:scale=tiny", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["results"]) == {"learned", "random_init"}
    for row in summary["results"].values():
        for key in ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10"):
            assert 0.0 <= row[key] <= 1.0
        assert row["recall@1"] <= row["mrr@10"] <= row["recall@10"]
        assert 0.0 <= row["alignment"] <= 4.0 and row["uniformity"] <= 0.0
        assert row["queries"] > 100
    assert "mrr@10" in result.stdout
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows if "mrr@10" in r] == [2, 4]  # eval every 2 steps
