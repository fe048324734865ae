"""Launch a sweep: one ``python -m contrastive_jax.main`` subprocess per (cell, seed).

Each run gets ``<runs_root>/<slug>/<cell>/seed<k>`` as its workdir, its stdout and stderr go to
``run.log`` there, and its results are read back from the ``summary.json`` that the main command
writes. A workdir that already holds a ``summary.json`` of the same command is not run again,
so sweeps resume and accumulate seeds. Children inherit the parent's environment (e.g.
``XLA_PYTHON_CLIENT_MEM_FRACTION`` on a GPU box).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from typing import Any, Sequence

from tqdm import tqdm

from experiments.spec import Cell, Experiment

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_NAME = "run.log"
COMMAND_NAME = "experiment_command.json"
# Children print no progress bar: their output goes to a log file.
RUN_FLAGS = ("--config.progress_bar=False",)


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run: ``command`` is the argv a user would type (``python`` first), run
    from the repository root."""

    cell: str
    seed: int
    workdir: str
    command: tuple[str, ...]


def display_path(path: str) -> str:
    """``path`` relative to the repository root when inside it (commands stay portable)."""
    path = os.path.abspath(path)
    relative = os.path.relpath(path, REPO_ROOT)
    return path if relative.startswith("..") else relative


def format_value(value: Any) -> str:
    """A config override value as ``--config.key=<text>`` expects it (strings stay bare)."""
    return value if isinstance(value, str) else repr(value)


def build_command(cell: Cell, scale: str, seed: int, workdir: str) -> tuple[str, ...]:
    """The main command of one run of ``cell`` at ``scale`` with ``seed``."""
    overrides = [f"--config.{key}={format_value(value)}"
                 for key, value in cell.overrides_for(scale).items()]
    return ("python", "-m", "contrastive_jax.main",
            f"--config={cell.config}:{cell.config_arg(scale)}", f"--workdir={workdir}",
            f"--config.seed={seed}", *overrides, *RUN_FLAGS)


def select_cells(experiment: Experiment, names: Sequence[str] | None) -> list[Cell]:
    """The cells named in ``names`` (all if None), in the experiment's order."""
    if not names:
        return list(experiment.cells)
    unknown = sorted(set(names) - {c.name for c in experiment.cells})
    if unknown:
        raise ValueError(f"{experiment.slug}: unknown cell(s) {unknown}; cells: "
                         f"{', '.join(c.name for c in experiment.cells)}.")
    return [c for c in experiment.cells if c.name in names]


def plan_runs(experiment: Experiment, scale: str, seeds: Sequence[int], runs_root: str,
              cells: Sequence[str] | None = None) -> list[Run]:
    """Every (cell, seed) run of the sweep, cell-major."""
    runs = []
    for cell in select_cells(experiment, cells):
        for seed in seeds:
            workdir = display_path(os.path.join(runs_root, experiment.slug, cell.name,
                                                f"seed{seed}"))
            runs.append(Run(cell.name, seed, workdir,
                            build_command(cell, scale, seed, workdir)))
    return runs


def flatten_results(summary: dict) -> dict[str, float]:
    """``summary["results"]`` as ``{"row.key": value}`` for every numeric entry, plus ``steps``
    (e.g. ``learned.linear_probe``, ``random_init.knn``, ``learned_projection.rankme``), and the
    numeric entries of ``summary["per_example"]`` as ``per_example.<key>``."""
    flat = {"steps": float(summary.get("steps", math.nan))}
    rows = dict(summary.get("results", {}))
    if isinstance(summary.get("per_example"), dict):  # e.g. iSogCLR's temperature report
        rows["per_example"] = summary["per_example"]
    for row, scores in rows.items():
        for key, value in scores.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                flat[f"{row}.{key}"] = float(value)
    return flat


def _abs(path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)


def _last_error_line(log_path: str) -> str:
    """The last ``error:`` line of a log, else its last non-empty line."""
    try:
        with open(log_path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["empty log"])[-1][:300]


def _read_summary(workdir: str) -> dict | None:
    path = os.path.join(_abs(workdir), "summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _stored_command(workdir: str) -> list[str] | None:
    path = os.path.join(_abs(workdir), COMMAND_NAME)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _record(run: Run, status: str, **fields) -> dict:
    return {"cell": run.cell, "seed": run.seed, "workdir": run.workdir,
            "command": list(run.command), "log": os.path.join(run.workdir, LOG_NAME),
            "status": status, **fields}


def _from_summary(run: Run, status: str, summary: dict, **fields) -> dict:
    """``resumed_from_step`` is None for summaries written before the main command recorded it;
    ``environment`` (package versions, commit, devices) is copied when the summary has it."""
    if "environment" in summary:
        fields = {**fields, "environment": summary["environment"]}
    return _record(run, status, metrics=flatten_results(summary),
                   wall_time_s=summary.get("wall_time_s"),
                   resumed_from_step=summary.get("resumed_from_step"), **fields)


def execute(run: Run) -> dict:
    """Run one command (or reuse its finished workdir) and return its record.

    Status ``ok`` (ran now), ``cached`` (summary.json of the same command already there) or
    ``failed`` (with ``error`` and the log path); never raises for a failed run.
    """
    try:
        stored, summary = _stored_command(run.workdir), _read_summary(run.workdir)
    except (OSError, ValueError) as error:
        return _record(run, "failed", error=f"unreadable file in {run.workdir}: {error}")
    if summary is None:
        return _launch(run)
    if stored is not None and stored != list(run.command):
        return _record(run, "failed", error=(
            f"{run.workdir} holds a finished run of another command ({' '.join(stored)}); "
            "remove it or choose another --runs_root."))
    return _from_summary(run, "cached", summary)


def _launch(run: Run) -> dict:
    """Start the main command with the log as stdout + stderr, wait, read ``summary.json``."""
    workdir = _abs(run.workdir)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, COMMAND_NAME), "w") as f:
        json.dump(list(run.command), f)
    log_path = os.path.join(workdir, LOG_NAME)
    start = time.time()
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(run.command)}\n")
        log.flush()
        returncode = subprocess.call([sys.executable, *run.command[1:]], cwd=REPO_ROOT,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"), stdout=log,
                                     stderr=subprocess.STDOUT)
    timing = {"returncode": returncode, "process_wall_time_s": round(time.time() - start, 1)}
    try:
        summary = _read_summary(run.workdir)
    except (OSError, ValueError) as error:
        return _record(run, "failed", error=f"unreadable summary.json: {error}", **timing)
    if returncode != 0 or summary is None:
        return _record(run, "failed", error=_last_error_line(log_path), **timing)
    return _from_summary(run, "ok", summary, **timing)


def run_all(runs: Sequence[Run], *, parallel: int = 1, desc: str = "runs") -> list[dict]:
    """Execute ``runs``, ``parallel`` at a time, with a progress bar; failures are reported
    (cell, seed, reason, log path) as they happen and the other runs go on. Records come back
    in the order of ``runs``."""
    records: list[dict | None] = [None] * len(runs)
    with tqdm(total=len(runs), desc=desc, unit="run", dynamic_ncols=True) as bar, \
            concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {pool.submit(execute, run): index for index, run in enumerate(runs)}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            record = future.result()
            records[index] = record
            if record["status"] == "failed":
                bar.write(f"FAILED {record['cell']} seed {record['seed']}: {record['error']} "
                          f"(log: {record['log']})")
            bar.update(1)
    return records
