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
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == name and summary["steps"] == 4
