"""The UCR / UEA TS2Vec table (experiments/ucr_ts2vec.py): its cells follow the paper's rule
for each data set, and its verdict reads the gap to the published column over data sets and
DBPM - TS2Vec per corruption level, on hand-made numbers."""

import importlib

import numpy as np
import pytest

from experiments import spec, ucr_ts2vec
from experiments.spec import SeedValues

METRIC = ucr_ts2vec.METRIC


def test_cells_follow_the_papers_batch_size_and_iterations():
    config_module = importlib.import_module("configs.ts2vec")
    from contrastive_jax.data.ucr import load_ucr_arrays

    multivariate = set()
    for name, (train, test, batch, steps) in ucr_ts2vec.DATASETS.items():
        config = config_module.get_config(f"dataset=ucr:{name}")
        assert (config.batch_size, config.total_steps) == (batch, steps), name
        (series, _, _), (test_series, _, _), _ = load_ucr_arrays(name)
        assert (len(series), len(test_series)) == (train, test), name
        if series.shape[-1] > 1:
            multivariate.add(name)
        cell = ucr_ts2vec.EXPERIMENT.cell(name.lower())
        assert cell.overrides["small"] == {"dataset.name": f"ucr:{name}", "batch_size": batch,
                                           "total_steps": steps} == cell.overrides["paper"]
    assert multivariate == set(ucr_ts2vec.MULTIVARIATE)


def test_study_cells_differ_from_the_table_cell_only_in_dbpm_and_corruption():
    for dataset in ucr_ts2vec.STUDY_DATASETS:
        base = ucr_ts2vec.EXPERIMENT.cell(dataset.lower()).overrides["small"]
        for corrupt in ucr_ts2vec.CORRUPTIONS:
            for method in ("ts2vec", "dbpm"):
                name = ucr_ts2vec._cell_name(dataset, method, corrupt)
                overrides = ucr_ts2vec.EXPERIMENT.cell(name).overrides["small"]
                extra = {k: v for k, v in overrides.items() if k not in base}
                assert {k: overrides[k] for k in base} == base
                assert extra.get("method.dbpm", False) == (method == "dbpm")
                assert extra.get("method.corrupt_fraction", 0.0) == corrupt


def _results(gap_points, dbpm_points, published, seeds=5, skip=()):
    """Our TS2Vec = published + gap (+ a little seed noise); DBPM = TS2Vec + dbpm_points[c]."""
    rng = np.random.default_rng(0)
    results = {}
    for index, dataset in enumerate(ucr_ts2vec.DATASETS):
        name = ucr_ts2vec._cell_name(dataset)
        if name in skip:
            continue
        centre = published.get(dataset, 0.8) + gap_points / 100 + 0.002 * (index % 3 - 1)
        results[name] = {METRIC: SeedValues(centre + 0.001 * rng.normal(size=seeds))}
    for dataset in ucr_ts2vec.STUDY_DATASETS:
        for corrupt, delta in zip(ucr_ts2vec.CORRUPTIONS, dbpm_points, strict=True):
            base = 0.9 - corrupt / 10 + 0.002 * rng.normal(size=seeds)
            ts2vec = ucr_ts2vec._cell_name(dataset, "ts2vec", corrupt)
            if ts2vec not in results:
                results[ts2vec] = {METRIC: SeedValues(base)}
            else:
                base = np.asarray(results[ts2vec][METRIC])
            noise = 0.001 * rng.normal(size=seeds)
            results[ucr_ts2vec._cell_name(dataset, "dbpm", corrupt)] = {
                METRIC: SeedValues(base + delta / 100 + noise)}
    return results


def test_verdict_reads_the_published_gap_and_dbpm_per_corruption_level(monkeypatch):
    published = {"GunPoint": (0.98, "a"), "ArrowHead": (0.85, "b"), "OSULeaf": (0.85, "c"),
                 "ItalyPowerDemand": (0.96, "d")}
    monkeypatch.setattr(ucr_ts2vec, "PUBLISHED", {n: published.get(n, (None, ""))
                                                  for n in ucr_ts2vec.DATASETS})
    values = {n: v for n, (v, _) in published.items()}
    levels = len(ucr_ts2vec.STUDY_DATASETS) * len(ucr_ts2vec.CORRUPTIONS)
    # Ours 3 points under the paper on every set; DBPM 2 points above TS2Vec at every level.
    outcome, reason, judged = spec.judge_all(ucr_ts2vec.verdict,
                                             _results(-3, (2, 2, 2, 2), values))
    assert len(judged) == 1 + levels
    gap = judged[0]
    assert gap["n"] == 4 and gap["mean"] == pytest.approx(-0.03, abs=2e-3)
    assert gap["outcome"] == "contradicted" and outcome == "contradicted"
    assert all(j["outcome"] == "holds" for j in judged[1:])
    assert "no published number" in reason  # the three sets without one are named
    # At the paper's level, with DBPM helping only under corruption: not a contradiction.
    outcome, _, judged = spec.judge_all(ucr_ts2vec.verdict, _results(0, (0, 2, 2, 2), values))
    assert judged[0]["outcome"] == "inconclusive" and outcome == "inconclusive"
    # A set not run: incomplete, the differences that exist still listed.
    outcome, reason, judged = spec.judge_all(
        ucr_ts2vec.verdict, _results(0, (0, 2, 2, 2), values, skip=("acsf1",)))
    assert outcome == "incomplete" and "ACSF1 (not run)" in reason and len(judged) == 1 + levels


def test_page_shows_the_published_column_the_gaps_and_the_notes():
    from experiments import report

    records = [{"cell": c.name, "seed": s, "status": "ok", "wall_time_s": 60.0, "workdir": "w",
                "log": "l", "command": ["python"], "metrics": {METRIC: 0.95 + 0.01 * s}}
               for c in ucr_ts2vec.EXPERIMENT.cells for s in range(2)]
    saved = report.build_report(ucr_ts2vec.EXPERIMENT, scale="small", seeds=[0, 1],
                                records=records, device="cpu")
    page = report.render_markdown(ucr_ts2vec.EXPERIMENT, saved)
    assert "| published TS2Vec (TEST, Tab. 14) |" in page and "| 98.7 |" in page
    assert "GunPoint -3.20 (-4.8 of 150 test series)" in page  # 95.5 - 98.7
    assert "## Notes (not computed from the numbers)" in page
    assert page.count("\n- ") >= len(ucr_ts2vec.NOTES)
