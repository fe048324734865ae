"""What an experiment module declares: the paper, its numbers, the claim, the sweep, the verdict.

A sweep is a list of ``Cell``s. A cell is one config file under ``configs/`` plus dotted-key
overrides for each scale (``tiny`` for tests, ``small`` for a 2-core CPU, ``paper`` for the
paper's setting). Configs know the scales ``tiny`` and ``small``; ``paper`` starts from the
config's ``small`` setting and overrides everything the paper fixes.

Verdicts read our numbers as ``results[cell][metric] -> [one value per seed]`` and return
``(verdict, reason)`` with verdict in ``VERDICTS``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, Sequence

SCALES = ("tiny", "small", "paper")
CONFIG_SCALE = {"tiny": "tiny", "small": "small", "paper": "small"}
VERDICTS = ("holds", "does not hold", "mixed", "incomplete")

# Every tiny run: a few steps on the 1,797-image digits set, one probe setting, no plots. It
# checks that the sweep runs end to end, not what the numbers are.
TINY = {"dataset.name": "digits", "total_steps": 2, "eval.every_steps": 1000,
        "checkpoint.every_steps": 1000, "eval.probe_l2_grid": (0.01,),
        "eval.probe_max_iter": 30, "eval.plot_embedding": False}

Results = Mapping[str, Mapping[str, Sequence[float]]]


@dataclasses.dataclass(frozen=True)
class Cell:
    """One point of the sweep: ``config`` (a path under configs/) and, per scale, overrides
    ``{"dotted.key": value}``; ``label`` holds the values shown in the table's first columns."""

    name: str
    config: str
    overrides: Mapping[str, Mapping[str, Any]]
    label: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def overrides_for(self, scale: str) -> dict[str, Any]:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}.")
        if scale not in self.overrides:
            raise ValueError(f"cell {self.name!r} defines no overrides for scale {scale!r}.")
        return dict(self.overrides[scale])


@dataclasses.dataclass(frozen=True)
class Column:
    """A column of our table: the mean ± std of ``key`` (a flattened summary key such as
    ``learned.linear_probe``), or ``compute(cell_values) -> str`` for a derived column."""

    header: str
    key: str | None = None
    percent: bool = True
    compute: Callable[[Mapping[str, Sequence[float]]], str] | None = None


@dataclasses.dataclass(frozen=True)
class PaperNumbers:
    """The paper's own numbers, in the paper's setting (never ours): a small table."""

    source: str
    setting: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One paper claim and the sweep that tests it at our scale."""

    slug: str
    title: str
    paper: str  # "Title", Authors, year (venue)
    table: str  # which table or figure of the paper
    claim: str
    setting: str  # our setting at small scale, in one or two sentences
    cells: tuple[Cell, ...]
    columns: tuple[Column, ...]
    metric: str  # the main metric key the verdict reads
    verdict: Callable[[Results], tuple[str, str]]
    paper_numbers: PaperNumbers | None = None
    # The scale whose sweep is the page in experiments/results/; a sweep at any other scale
    # writes its page elsewhere (see experiments.run.results_dir_for).
    published_scale: str = "small"

    def cell(self, name: str) -> Cell:
        for cell in self.cells:
            if cell.name == name:
                return cell
        raise KeyError(f"{self.slug}: no cell {name!r}; cells: "
                       f"{', '.join(c.name for c in self.cells)}.")


# --- helpers for verdict functions ----------------------------------------------------------


class Incomplete(Exception):
    """A verdict needs a number that the results do not have (a cell not run, or failed)."""


def finite_values(results: Results, cell: str, key: str) -> list[float]:
    """The finite per-seed values of ``key`` in ``cell`` (NaN: a diverged run)."""
    values = results.get(cell, {}).get(key, [])
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def mean_of(results: Results, cell: str, key: str) -> float:
    """Mean over seeds of ``results[cell][key]``; ``Incomplete`` if there is no finite value."""
    values = finite_values(results, cell, key)
    if not values:
        raise Incomplete(f"{cell}: {key}")
    return sum(values) / len(values)


def combine(checks: Sequence[bool]) -> str:
    """``holds`` if every check passes, ``does not hold`` if none does, else ``mixed``."""
    if all(checks):
        return "holds"
    if not any(checks):
        return "does not hold"
    return "mixed"


def judge(verdict: Callable[[Results], tuple[str, str]], results: Results) -> tuple[str, str]:
    """Run a verdict function; missing numbers give ``incomplete`` naming what is missing."""
    try:
        outcome, reason = verdict(results)
    except Incomplete as missing:
        return "incomplete", f"no finite result for {missing.args[0]} (not run, or failed)."
    if outcome not in VERDICTS:
        raise ValueError(f"verdict {outcome!r} is not one of {VERDICTS}.")
    return outcome, reason


def points(value: float) -> str:
    """A difference of accuracies in percentage points, signed: ``+1.23``."""
    return f"{100 * value:+.2f}"


def pct(value: float) -> str:
    return f"{100 * value:.2f}%"
