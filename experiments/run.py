r"""Run a paper-table sweep and write its results page.

    python -m experiments.run dcl_batch_size --scale small --seeds 3 --parallel 2
    python -m experiments.run projection_head --render_only
    python -m experiments.run directpred --scale tiny --seeds 1 --cells byol_no_predictor \
        --runs_root /tmp/runs --results_dir /tmp/results

Every (cell, seed) runs ``python -m contrastive_jax.main`` in
``<runs_root>/<slug>/<cell>/seed<k>`` (its log is ``run.log`` there); finished workdirs are
reused. Results go to ``<results_dir>/<slug>.json`` and ``<slug>.md``; the default
``results_dir`` is ``experiments/results/`` only at the scale the experiment's page is published
at (``Experiment.published_scale``, ``small``), else ``<runs_root>/results_<scale>/``, so a
smoke run never overwrites a committed page (writing ``experiments/results/`` at another scale
is refused). Cells not selected with
``--cells`` still appear in the page when their workdirs hold finished runs. With
``--keep_saved``, finished runs already recorded in ``<slug>.json`` (same scale and command)
whose workdirs are gone are kept as they are, marked ``saved``, instead of being run again.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Sequence

from experiments import launch, report
from experiments.spec import SCALES, Experiment

SLUGS = ("dcl_batch_size", "directpred", "projection_head", "multiview", "methods_mnist5k",
         "dcl_temperature", "mv_dhel_views", "mochi_queue", "isogclr_imbalance",
         "cacr_imbalance", "negclip_order", "amcl_augmentations", "groco_knn", "graph_sbm",
         "codesearch_stdlib", "mcl_feature_suppression", "supremix_regression",
         "ucr_ts2vec")
DEFAULT_RESULTS_DIR = os.path.join(launch.REPO_ROOT, "experiments", "results")


def load_experiment(slug: str) -> Experiment:
    """``experiments/<slug>.py``'s ``EXPERIMENT``; an unknown slug names the valid ones."""
    if slug not in SLUGS:
        raise ValueError(f"unknown experiment {slug!r}; valid: {', '.join(SLUGS)}.")
    return importlib.import_module(f"experiments.{slug}").EXPERIMENT


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m experiments.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("slug", help=f"one of: {', '.join(SLUGS)}")
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--seeds", type=int, default=5,
                        help="seeds 0..N-1 (default 5, the fewest a claimed difference is read "
                             "from; see experiments/stats.py)")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--runs_root", default=os.path.join(launch.REPO_ROOT, "runs"))
    parser.add_argument("--results_dir", default=None,
                        help="where <slug>.{json,md} go (default: experiments/results/ at the "
                             "published scale, else <runs_root>/results_<scale>/)")
    parser.add_argument("--cells", default="", help="comma-separated cell names (default all)")
    parser.add_argument("--keep_saved", action="store_true",
                        help="keep the finished runs recorded in <slug>.json whose workdirs "
                             "are gone (same scale and command) instead of running them again")
    parser.add_argument("--render_only", action="store_true",
                        help="re-render <slug>.md (and the verdict) from <slug>.json")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.parallel < 1:
        parser.error("--seeds and --parallel must be >= 1.")
    return args


def results_dir_for(experiment: Experiment, scale: str, runs_root: str,
                    results_dir: str | None = None) -> str:
    """Where a sweep at ``scale`` writes its page: ``results_dir`` if given, else
    ``experiments/results/`` at ``experiment.published_scale`` and ``<runs_root>/results_<scale>``
    at any other scale. Naming ``experiments/results/`` at another scale is a ValueError."""
    published = os.path.realpath(DEFAULT_RESULTS_DIR)
    if results_dir is None:
        return (DEFAULT_RESULTS_DIR if scale == experiment.published_scale
                else os.path.join(runs_root, f"results_{scale}"))
    if os.path.realpath(results_dir) == published and scale != experiment.published_scale:
        raise ValueError(
            f"{DEFAULT_RESULTS_DIR} holds the pages published at scale "
            f"{experiment.published_scale!r}; a {scale!r} sweep may not overwrite them: leave "
            f"out --results_dir (default {os.path.join(runs_root, f'results_{scale}')}) or name "
            "another directory.")
    return results_dir


def _without_workdir(command: Sequence[str]) -> list[str]:
    return [arg for arg in command if not arg.startswith("--workdir=")]


def saved_runs(experiment: Experiment, scale: str, results_dir: str) -> dict[tuple, dict]:
    """The finished runs recorded in ``<results_dir>/<slug>.json`` at ``scale``, keyed by
    ``(cell, seed)``, each marked ``status: saved`` with ``saved_from``: the commit and date of
    the saved page that recorded it (the first such page when a run is kept again)."""
    path = os.path.join(results_dir, f"{experiment.slug}.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        saved = json.load(f)
    if saved.get("scale") != scale:
        return {}
    origin = {"git_commit": saved.get("git_commit"), "created_utc": saved.get("created_utc")}
    return {(r["cell"], r["seed"]): {**r, "status": "saved",
                                     "saved_from": r.get("saved_from", origin)}
            for r in saved["runs"] if r["status"] in report.FINISHED}


def _has_summary(run: launch.Run) -> bool:
    return os.path.exists(os.path.join(launch.REPO_ROOT, run.workdir, "summary.json"))


def collect_records(experiment: Experiment, *, scale: str, seeds: Sequence[int],
                    runs_root: str, cells: Sequence[str], parallel: int,
                    saved: dict[tuple, dict] | None = None) -> list[dict]:
    """Run the selected cells; add finished runs of the other cells found in ``runs_root``.
    A run whose workdir holds no summary but that ``saved`` (see ``saved_runs``) records with
    the same command, up to its workdir, is kept from there instead of being run."""
    selected = {c.name for c in launch.select_cells(experiment, cells)}
    runs = launch.plan_runs(experiment, scale, seeds, runs_root)
    kept = {}
    for r in runs:
        record = (saved or {}).get((r.cell, r.seed))
        if (record is not None and not _has_summary(r)
                and _without_workdir(record["command"]) == _without_workdir(r.command)):
            kept[(r.cell, r.seed)] = record
    to_run = [r for r in runs if r.cell in selected and (r.cell, r.seed) not in kept]
    records = launch.run_all(to_run, parallel=parallel, desc=experiment.slug)
    finished_elsewhere = [launch.execute(r) for r in runs
                          if r.cell not in selected and _has_summary(r)]
    order = {(r.cell, r.seed): i for i, r in enumerate(runs)}
    return sorted(records + finished_elsewhere + list(kept.values()),
                  key=lambda r: order[(r["cell"], r["seed"])])


def run_sweep(experiment: Experiment, *, scale: str, seeds: Sequence[int], runs_root: str,
              results_dir: str, cells: Sequence[str] = (), parallel: int = 1,
              keep_saved: bool = False) -> dict:
    """Run (or reuse) the sweep's runs and write ``<slug>.json`` and ``<slug>.md``; returns the
    report (see ``experiments.report``). ``keep_saved``: see ``saved_runs``. ``results_dir``
    may be ``experiments/results/`` only at the published scale (see ``results_dir_for``)."""
    results_dir = results_dir_for(experiment, scale, runs_root, results_dir)
    on_page = saved_runs(experiment, scale, results_dir) if keep_saved else None
    records = collect_records(experiment, scale=scale, seeds=seeds, runs_root=runs_root,
                              cells=cells, parallel=parallel, saved=on_page)
    saved = report.build_report(experiment, scale=scale, seeds=seeds, records=records,
                                device=report.device_kind())
    report.write_report(saved, results_dir, report.render_markdown(experiment, saved))
    return saved


DESCRIPTIVE_FIELDS = ("title", "paper", "table", "claim", "setting", "metric")


def render_only(experiment: Experiment, results_dir: str) -> dict:
    """Re-judge and re-render from the saved JSON (no run is started); the descriptive fields
    (title, paper, table, claim, setting, metric) are refreshed from the definition, so the JSON
    and the page say the same."""
    path = os.path.join(results_dir, f"{experiment.slug}.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: run the sweep first.")
    with open(path) as f:
        saved = json.load(f)
    saved.update({field: getattr(experiment, field) for field in DESCRIPTIVE_FIELDS})
    saved["verdict"] = report.verdict_of(experiment, saved)
    if experiment.method_rows:
        saved["rows"] = report.method_rows(experiment, saved)
    report.write_report(saved, results_dir, report.render_markdown(experiment, saved))
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status 0 when every run finished, 1 when some failed, 2 for usage errors."""
    args = parse_args(argv)
    try:
        experiment = load_experiment(args.slug)
        if args.render_only:
            results_dir = args.results_dir or DEFAULT_RESULTS_DIR
            saved = render_only(experiment, results_dir)
        else:
            results_dir = results_dir_for(experiment, args.scale, args.runs_root,
                                          args.results_dir)
            saved = run_sweep(experiment, scale=args.scale, seeds=list(range(args.seeds)),
                              runs_root=args.runs_root, results_dir=results_dir,
                              cells=[c for c in args.cells.split(",") if c],
                              parallel=args.parallel, keep_saved=args.keep_saved)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = [r for r in saved["runs"] if r["status"] == "failed"]
    print(f"{experiment.slug}: {len(saved['runs']) - len(failed)} finished, {len(failed)} failed;"
          f" verdict: {saved['verdict']['outcome']} ({saved['verdict']['reason']})")
    where = launch.display_path(os.path.join(results_dir, experiment.slug))
    note = ("" if args.render_only or saved["scale"] == experiment.published_scale else
            f" (scale {saved['scale']} is not the published scale "
            f"{experiment.published_scale}: experiments/results/ was left alone)")
    print(f"wrote {where}.{{json,md}}{note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
