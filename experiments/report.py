"""Turn run records into ``experiments/results/<slug>.json`` and a rendered ``<slug>.md``.

The JSON keeps everything needed to re-render and re-judge: every per-seed number, each run's
command, workdir, status and wall time, the scale and seeds, the git commit and the device.
The Markdown shows our mean ± std over seeds, then the paper's numbers in a separate table
labelled as the paper's, then the verdict computed from our numbers by the interval rule of
``experiments.stats``, with a table of every claimed difference (mean, 95% paired t and
bootstrap intervals, n paired seeds, the rule's outcome).
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
from typing import Sequence

from experiments import launch
from experiments import stats
from experiments.spec import POINTS, Experiment, SeedValues, finite_values, judge_all

# Statuses of a finished run: ran now, reused from its workdir, kept from a saved <slug>.json.
FINISHED = ("ok", "cached", "saved")
DEVICE_PROBE = ("import jax; d = jax.devices()[0]; "
                "print(f'{d.platform} ({d.device_kind}) x{jax.device_count()}')")


def cell_results(records: Sequence[dict]) -> dict[str, dict[str, list[float]]]:
    """``{cell: {metric: [value per finished seed, in seed order]}}`` from run records; each
    list is a ``SeedValues`` whose ``seeds`` pair the values of different cells by seed."""
    results: dict[str, dict[str, SeedValues]] = {}
    finished = [r for r in records if r.get("status") in FINISHED]
    for record in sorted(finished, key=lambda r: r["seed"]):
        cell = results.setdefault(record["cell"], {})
        for key, value in record["metrics"].items():
            values = cell.setdefault(key, SeedValues())
            values.append(value)
            values.seeds.append(record["seed"])
    return results


def mean_std(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count of the finite values."""
    values = [v for v in values if v == v]
    if not values:
        return float("nan"), float("nan"), 0
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), std, len(values)


def git_info() -> dict:
    """The checked-out commit and whether the working tree has uncommitted changes."""
    def git(*args):
        result = subprocess.run(["git", *args], cwd=launch.REPO_ROOT, capture_output=True,
                                text=True)
        return result.stdout.strip() if result.returncode == 0 else None

    status = git("status", "--porcelain")
    return {"git_commit": git("rev-parse", "HEAD"), "git_dirty": bool(status)}


def device_kind() -> str:
    """``platform (device_kind) xN`` of ``jax.devices()`` in a child process with this
    environment (the parent never initializes an accelerator, which it would hold)."""
    result = subprocess.run([sys.executable, "-c", DEVICE_PROBE], capture_output=True, text=True,
                            cwd=launch.REPO_ROOT)
    lines = result.stdout.strip().splitlines()
    return lines[-1] if result.returncode == 0 and lines else "unknown"


def reproduce_command(slug: str, scale: str, num_seeds: int) -> str:
    return f"python -m experiments.run {slug} --scale {scale} --seeds {num_seeds}"


def build_report(experiment: Experiment, *, scale: str, seeds: Sequence[int],
                 records: Sequence[dict], device: str) -> dict:
    """The JSON document of one sweep (see the module docstring)."""
    report = {
        "slug": experiment.slug, "title": experiment.title, "paper": experiment.paper,
        "table": experiment.table, "claim": experiment.claim, "setting": experiment.setting,
        "metric": experiment.metric, "scale": scale, "seeds": list(seeds),
        "reproduce": reproduce_command(experiment.slug, scale, len(seeds)),
        **git_info(), "device": device,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cells": {c.name: {"config": c.config, "label": dict(c.label),
                           "overrides": c.overrides_for(scale)} for c in experiment.cells},
        "runs": list(records),
    }
    report["verdict"] = verdict_of(experiment, report)
    if experiment.method_rows:
        report["rows"] = method_rows(experiment, report)
    return report


def method_rows(experiment: Experiment, report: dict) -> dict:
    """``{row: {metric: {"mean", "std", "n", "values"}}}`` of ``experiment.method_rows`` (see
    ``Experiment``), rows whose cell has no finished run left out."""
    results = cell_results(report["runs"])
    rows = {}
    for row, (cell, prefix) in experiment.method_rows.items():
        values = results.get(cell, {})
        metrics = {}
        for metric in experiment.row_metrics:
            kept = [float(v) for v in values.get(f"{prefix}.{metric}", []) if v == v]
            if kept:
                mean, std, count = mean_std(kept)
                metrics[metric] = {"mean": mean, "std": std, "n": count, "values": kept}
        if metrics:
            rows[row] = metrics
    return rows


def _method_rows_table(experiment: Experiment, report: dict) -> list[str]:
    if not experiment.method_rows:
        return []
    rows = report.get("rows") or {}
    body = [[f"`{name}`", *(format_stat(rows[name][m]["values"], percent=False)
                            if m in rows[name] else "–" for m in experiment.row_metrics),
             str(max(v["n"] for v in rows[name].values()))]
            for name in experiment.method_rows if name in rows]
    absent = [name for name in experiment.method_rows if name not in rows]
    lines = ["## Per method", "", *_table(("method", *experiment.row_metrics, "n seeds"), body)]
    if absent:
        lines += ["", f"Not run (no finished runs): {', '.join(absent)}."]
    return lines + [""]


def verdict_of(experiment: Experiment, report: dict) -> dict:
    """``{"outcome", "reason", "differences"}``: the rule's verdict (``experiments.stats``) and
    each claimed difference judged (``None`` for a legacy verdict that has none)."""
    outcome, reason, differences = judge_all(experiment.verdict, cell_results(report["runs"]))
    return {"outcome": outcome, "reason": reason, "differences": differences}


def write_report(report: dict, results_dir: str, markdown: str) -> tuple[str, str]:
    """Write ``<slug>.json`` and ``<slug>.md`` into ``results_dir``; return both paths."""
    os.makedirs(results_dir, exist_ok=True)
    json_path = os.path.join(results_dir, f"{report['slug']}.json")
    md_path = os.path.join(results_dir, f"{report['slug']}.md")
    with open(json_path, "w") as f:
        json.dump(report, f, indent=1, default=str)
        f.write("\n")
    with open(md_path, "w") as f:
        f.write(markdown)
    return json_path, md_path


# --- Markdown ---------------------------------------------------------------------------------


def format_stat(values: Sequence[float], *, percent: bool) -> str:
    """``mean ± std`` (percent: ``98.10 ± 0.20``); the mean alone for one seed; ``–`` for none."""
    mean, std, count = mean_std(values)
    if count == 0:
        return "–"
    scale = 100.0 if percent else 1.0
    text = f"{scale * mean:.2f}" if percent else f"{mean:.4g}"
    if count > 1:
        text += f" ± {scale * std:.2f}" if percent else f" ± {std:.2g}"
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines


def _our_rows(experiment: Experiment, report: dict) -> tuple[list[str], list[list[str]]]:
    results = cell_results(report["runs"])
    label_keys = list(dict.fromkeys(k for c in experiment.cells for k in c.label))
    header = ["cell", *label_keys, *(c.header for c in experiment.columns), "n seeds",
              "wall time / run (s)"]
    rows = []
    for name in report["cells"]:
        values = results.get(name, {})
        label = report["cells"][name]["label"]
        walls, resumed = _wall_times(report["runs"], name)
        n = len(finite_values(results, name, experiment.metric))
        columns = [c.compute(values) if c.compute else
                   format_stat(values.get(c.key, []), percent=c.percent)
                   for c in experiment.columns]
        rows.append([f"`{name}`", *(str(label.get(k, "")) for k in label_keys), *columns,
                     str(n), format_stat(walls, percent=False)
                     + (f" ({resumed} resumed left out)" if resumed else "")])
    return header, rows


def _wall_times(runs: Sequence[dict], cell: str) -> tuple[list[float], int]:
    """The cell's whole-run wall times, and how many runs were left out because they resumed
    (their ``wall_time_s`` covers only the steps after the resume)."""
    timed = [r for r in runs if r["cell"] == cell and r.get("wall_time_s") is not None]
    whole = [r["wall_time_s"] for r in timed if not r.get("resumed_from_step")]
    return whole, len(timed) - len(whole)


def _commands(report: dict) -> list[str]:
    lines = ["| cell | command (seed 0; seed k: `--config.seed=k`, workdir `.../seed<k>`) |",
             "|---|---|"]
    for name in report["cells"]:
        runs = [r for r in report["runs"] if r["cell"] == name]
        if runs:
            first = min(runs, key=lambda r: r["seed"])
            lines.append(f"| `{name}` | `{shlex.join(first['command'])}` |")
    return lines


def _failures(report: dict) -> list[str]:
    failed = [r for r in report["runs"] if r["status"] == "failed"]
    if not failed:
        return []
    lines = ["", "### Failed runs", ""]
    lines += [f"- `{r['cell']}` seed {r['seed']}: {r['error']} (log: `{r['log']}`)"
              for r in failed]
    return lines


def _paper_section(experiment: Experiment) -> list[str]:
    lines = ["", "## The paper's numbers (reported by the paper, in its setting; not ours)", ""]
    numbers = experiment.paper_numbers
    if numbers is None:
        return lines + ["No paper numbers: this table compares the library's methods in one "
                        "small setting of ours."]
    lines += [f"Source: {numbers.source}. The paper's setting: {numbers.setting}", ""]
    return lines + _table(numbers.header, numbers.rows)


SCALE_NOTES = {
    "tiny": "**Scale `tiny`: a few training steps to test the harness; these numbers measure "
            "nothing and the setting above does not apply.**",
    "small": "Scale `small` (the setting above).",
    "paper": "Scale `paper`: the paper's setting, given by the overrides in the commands below.",
}


def _run_summary(report: dict, has_accuracies: bool) -> str:
    """Seeds, git commit, device, date and the total wall time of the finished runs;
    ``has_accuracies``: some column is an accuracy (shown in %)."""
    seeds = report["seeds"]
    units = ("accuracies in %" if has_accuracies else "each metric in the unit its column "
             "names")
    commit = (report.get("git_commit") or "unknown")[:10]
    dirty = " plus uncommitted changes" if report.get("git_dirty") else ""
    total = sum(r.get("wall_time_s") or 0.0 for r in report["runs"])
    return (f"Seeds {seeds[0]}..{seeds[-1]}; each entry is the mean ± sample std over the "
            f"cell's n seeds, {units} on the held-out split. Commit `{commit}`{dirty}; "
            f"device {report['device']}; {report['created_utc']}; {total / 60:.1f} min of run "
            f"wall time in all.{_saved_note(report['runs'])}")


def _saved_note(runs: Sequence[dict]) -> str:
    """Which runs were kept from saved results pages, and the commit and date of each page."""
    saved = [r for r in runs if r["status"] == "saved"]
    if not saved:
        return ""
    origins = sorted({((r["saved_from"].get("git_commit") or "unknown")[:10],
                       r["saved_from"].get("created_utc") or "unknown date") for r in saved})
    pages = "; ".join(f"commit `{commit}`, {date}" for commit, date in origins)
    return (f" {len(saved)} of the {len(runs)} runs were kept as recorded in an earlier "
            f"results page (`--keep_saved`; page of {pages}); the others ran, or were read "
            f"from their workdirs, in this sweep.")


def _interval(low: float, high: float, percent: bool) -> str:
    if not (low == low and high == high):  # NaN: fewer than 2 paired seeds
        return "–"
    scale = 100.0 if percent else 1.0
    return f"[{scale * low:+.2f}, {scale * high:+.2f}]"


def _points_note(judged: Sequence[dict]) -> str:
    """The sentence naming the unit of accuracy differences; empty when none is one."""
    return f" {POINTS[0].upper()}{POINTS[1:]}." if any(j["percent"] for j in judged) else ""


def _differences(verdict: dict) -> list[str]:
    """The table of claimed differences under the verdict: mean, both intervals, the rule."""
    judged = verdict.get("differences")
    if judged is None:
        return ["No interval: this verdict was computed on means by a verdict function "
                "written before the interval rule; it is not a `holds` under the rule.", ""]
    if not judged:
        return []
    lines = [f"Each claimed difference is paired by seed (cell A's seed s minus cell B's seed "
             f"s); the verdict reads its 95% paired t interval (Student t, n - 1 degrees of "
             f"freedom): `holds` when it excludes zero on the claimed side, `contradicted` when "
             f"it excludes zero on the other side, else `inconclusive`; the claim holds when "
             f"every difference holds and is contradicted when any is. The percentile "
             f"bootstrap interval ({stats.BOOTSTRAP_RESAMPLES:,} resamples of the seeds, fixed "
             f"RNG) is shown for comparison only.{_points_note(judged)}", ""]
    rows = [[j["claim"], "> 0" if j["direction"] > 0 else "< 0", str(j["n"]),
             f"{(100.0 if j['percent'] else 1.0) * j['mean']:+.2f}" if j["n"] else "–",
             _interval(j["t_low"], j["t_high"], j["percent"]),
             _interval(j["boot_low"], j["boot_high"], j["percent"]), j["outcome"]]
            for j in judged]
    lines += _table(("claimed difference", "claimed sign", "n paired seeds", "mean",
                     "95% paired t interval", "95% bootstrap interval", "verdict"), rows)
    few = sorted({j["n"] for j in judged if j["n"] < stats.MIN_SEEDS})
    if few:
        lines += ["", f"Fewer than {stats.MIN_SEEDS} paired seeds (n = "
                      f"{', '.join(map(str, few))}): re-run with `--seeds {stats.MIN_SEEDS}` "
                      f"(finished seeds are reused) before reading a verdict from this page."]
    return lines + [""]


def render_markdown(experiment: Experiment, report: dict) -> str:
    """The results page: our table, commands, the paper's numbers, the verdict."""
    header, rows = _our_rows(experiment, report)
    lines = [
        f"# {experiment.title}", "",
        f"*Written by `python -m experiments.run {experiment.slug}`; re-render with "
        f"`--render_only`.*", "",
        f"- **Paper**: {experiment.paper}",
        f"- **Table / figure**: {experiment.table}",
        f"- **Claim**: {experiment.claim}", "",
        "## Our numbers", "",
        f"Setting at scale `small`: {experiment.setting}", "",
        f"{SCALE_NOTES[report['scale']]} "
        f"{_run_summary(report, any(c.percent and c.key for c in experiment.columns))}", "",
        *_table(header, rows), "",
        *_method_rows_table(experiment, report),
        f"Reproduce: `{report['reproduce']}`", "",
        *_commands(report), *_failures(report),
        *_paper_section(experiment), "",
        f"## Verdict (from our numbers): {report['verdict']['outcome']}", "",
        *_differences(report["verdict"]),
        report["verdict"]["reason"], "",
        *_notes(experiment),
    ]
    return "\n".join(lines)


def _notes(experiment: Experiment) -> list[str]:
    """The experiment's notes (not computed from the numbers), as a list; none: nothing."""
    if not experiment.notes:
        return []
    return ["## Notes (not computed from the numbers)", "",
            *(f"- {note}" for note in experiment.notes), ""]
