"""What an experiment module declares: the paper, its numbers, the claim, the sweep, the verdict.

A sweep is a list of ``Cell``s. A cell is one config file under ``configs/`` plus dotted-key
overrides for each scale (``tiny`` for tests, ``small`` for a 2-core CPU, ``paper`` for the
paper's setting). Configs know the scales ``tiny`` and ``small``; ``paper`` starts from the
config's ``small`` setting and overrides everything the paper fixes.

Verdicts read our numbers as ``results[cell][metric] -> [one value per seed]`` (a
``SeedValues`` list: ``.seeds`` names the seed of each value) and return
``(verdict, reason, differences)``: each claimed difference is a ``Difference`` of per-seed
paired values (``paired``), judged by the rule in ``experiments.stats`` (``verdict_from``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, Sequence

from experiments import stats

SCALES = ("tiny", "small", "paper")
CONFIG_SCALE = {"tiny": "tiny", "small": "small", "paper": "small"}
VERDICTS = ("holds", "contradicted", "inconclusive", "incomplete")
# Outcomes of verdict functions written before the interval rule (means only); still accepted
# from a module that returns no differences, and the page then says it has no interval.
LEGACY_VERDICTS = ("does not hold", "mixed")

# Every tiny run: a few steps on the 1,797-image digits set, one probe setting, no plots. It
# checks that the sweep runs end to end, not what the numbers are.
TINY = {"dataset.name": "digits", "total_steps": 2, "eval.every_steps": 1000,
        "checkpoint.every_steps": 1000, "eval.probe_l2_grid": (0.01,),
        "eval.probe_max_iter": 30, "eval.plot_embedding": False}

# The low-label probes a discriminative table reads (evaluate.low_label): k labelled examples
# per class, averaged over 5 seeded draws; and their cheap form for tiny runs.
LOW_LABEL = {"eval.low_label_shots": (1, 10, 100), "eval.low_label_draws": 5}
TINY_LOW_LABEL = {**TINY, **LOW_LABEL, "eval.low_label_shots": (1, 5),
                  "eval.low_label_draws": 2, "eval.final_baselines": False}


def small_run(steps: int, **overrides) -> dict[str, Any]:
    """A small-scale cell's overrides: ``steps`` steps, one evaluation at the end, no
    baselines or plots (the table reads the learned row), plus ``overrides``."""
    return {"total_steps": steps, "eval.every_steps": steps, "eval.final_baselines": False,
            "eval.plot_embedding": False, **overrides}


Results = Mapping[str, Mapping[str, Sequence[float]]]


@dataclasses.dataclass(frozen=True)
class Cell:
    """One point of the sweep: ``config`` (a path under configs/) and, per scale, overrides
    ``{"dotted.key": value}``; ``label`` holds the values shown in the table's first columns."""

    name: str
    config: str
    overrides: Mapping[str, Mapping[str, Any]]
    label: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Arguments of the config's get_config before the scale, for choices the config makes as a
    # whole (e.g. "dataset=tabular:diabetes,method=l1_regression" picks an MLP encoder too).
    config_args: str = ""

    def config_arg(self, scale: str) -> str:
        """``get_config``'s argument at ``scale``: ``config_args`` plus ``scale=...``."""
        prefix = f"{self.config_args}," if self.config_args else ""
        return f"{prefix}scale={CONFIG_SCALE[scale]}"

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
    # Why the cells define no ``paper`` scale (the paper's data or inputs have no source
    # here); empty: every cell has one.
    paper_scale_missing: str = ""
    # Optional per-method rows read from the cells' summaries: ``{row: (cell, summary row)}``,
    # e.g. ``{"bm25": ("dual_encoder", "bm25"), "untrained": ("dual_encoder", "random_init")}``;
    # the report's ``rows`` and the page's "Per method" table give the mean ± std over seeds of
    # each of ``row_metrics`` (a row whose cell has no finished run is left out).
    method_rows: Mapping[str, tuple[str, str]] | None = None
    row_metrics: tuple[str, ...] = ()
    # Observations that are not computed from the numbers (e.g. what was found about why a
    # result differs from the paper's), shown under the verdict; empty: no section.
    notes: tuple[str, ...] = ()

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


class SeedValues(list):
    """The per-seed values of one metric of one cell, in seed order; ``seeds[i]`` is the seed of
    value ``i``. A plain list (hand-made results) counts as seeds ``0..n-1``."""

    def __init__(self, values=(), seeds=None):
        super().__init__(values)
        self.seeds = list(range(len(self))) if seeds is None else list(seeds)
        if len(self.seeds) != len(self):
            raise ValueError(f"{len(self)} values for {len(self.seeds)} seeds")


def seed_values(results: Results, cell: str, key: str) -> dict[int, float]:
    """``{seed: value}`` of the finite values of ``key`` in ``cell``."""
    values = results.get(cell, {}).get(key, [])
    seeds = getattr(values, "seeds", range(len(values)))
    return {int(s): float(v) for s, v in zip(seeds, values)
            if v is not None and math.isfinite(float(v))}


@dataclasses.dataclass(frozen=True)
class Difference:
    """One claimed difference: per-seed paired values ``values[i]`` (seed ``seeds[i]``) and the
    claimed sign ``direction`` (+1: positive). ``percent``: values are accuracies (shown in
    points); else shown as they are."""

    claim: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    direction: int = 1
    percent: bool = True

    def judged(self) -> dict:
        return {"claim": self.claim, "direction": self.direction, "percent": self.percent,
                "seeds": list(self.seeds), "values": list(self.values),
                **stats.judge_difference(self.values, self.direction)}


def paired(results: Results, claim: str, terms: Sequence[tuple[float, str, str]], *,
           direction: int = 1, constant: float = 0.0, percent: bool = True) -> Difference:
    """The per-seed linear combination ``constant + sum_j w_j * results[cell_j][key_j][seed]``
    over the seeds every term has, for ``terms = [(w_j, cell_j, key_j), ...]``; e.g.
    ``[(1, "dcl_b32", m), (-1, "ntxent_b32", m)]`` is DCL minus NT-Xent at B=32, seed by seed.
    ``Incomplete`` when a term has no finite value."""
    per_term = []
    for _, cell, key in terms:
        values = seed_values(results, cell, key)
        if not values:
            raise Incomplete(f"{cell}: {key}")
        per_term.append(values)
    seeds = sorted(set.intersection(*(set(v) for v in per_term)))
    values = tuple(constant + sum(w * v[s] for (w, _, _), v in zip(terms, per_term))
                   for s in seeds)
    return Difference(claim, tuple(seeds), values, direction, percent)


def difference_text(judged: Mapping[str, Any]) -> str:
    """``+0.20 [-0.31, +0.71] (n=3)``: mean and 95% t interval, in points for accuracies."""
    scale = 100.0 if judged["percent"] else 1.0
    if judged["n"] == 0:
        return "no paired seeds"
    if judged["n"] < 2:
        return f"{scale * judged['mean']:+.2f} (n=1, no interval)"
    return (f"{scale * judged['mean']:+.2f} [{scale * judged['t_low']:+.2f}, "
            f"{scale * judged['t_high']:+.2f}] (n={judged['n']})")


POINTS = "fractions (accuracy, MRR) in points, x100"


def verdict_from(differences: Sequence[Difference], summary: str = ""
                 ) -> tuple[str, str, list[dict]]:
    """The claim's verdict from its claimed differences (``stats.overall`` of each one's rule),
    a reason listing each with its interval, and the judged differences for the page."""
    judged = [d.judged() for d in differences]
    outcome = stats.overall([j["outcome"] for j in judged])
    counts = {o: sum(j["outcome"] == o for j in judged) for o in stats.OUTCOMES}
    listed = "; ".join(f"{j['claim']}: {difference_text(j)} {j['outcome']}" for j in judged)
    units = f"; {POINTS}" if any(j["percent"] for j in judged) else ""
    reason = (f"{summary + ' ' if summary else ''}Of {len(judged)} claimed differences "
              f"(mean and 95% paired t interval{units}), "
              f"{counts['holds']} hold, {counts['contradicted']} are contradicted and "
              f"{counts['inconclusive']} are inconclusive: {listed}.")
    return outcome, reason, judged


def combine(checks: Sequence[bool]) -> str:
    """``holds`` if every check passes, ``does not hold`` if none does, else ``mixed``."""
    if all(checks):
        return "holds"
    if not any(checks):
        return "does not hold"
    return "mixed"


def judge(verdict: Callable[[Results], tuple], results: Results) -> tuple[str, str]:
    """``(outcome, reason)`` of a verdict function (see ``judge_all``)."""
    outcome, reason, _ = judge_all(verdict, results)
    return outcome, reason


def judge_all(verdict: Callable[[Results], tuple], results: Results
              ) -> tuple[str, str, list[dict] | None]:
    """Run a verdict function: ``(outcome, reason, judged differences)``; missing numbers give
    ``incomplete`` naming what is missing. A legacy verdict (two values, no differences) gives
    ``None`` differences."""
    try:
        returned = verdict(results)
    except Incomplete as missing:
        return "incomplete", f"no finite result for {missing.args[0]} (not run, or failed).", []
    outcome, reason, judged = (*returned, None) if len(returned) == 2 else returned
    valid = VERDICTS + (LEGACY_VERDICTS if judged is None else ())
    if outcome not in valid:
        raise ValueError(f"verdict {outcome!r} is not one of {valid}.")
    return outcome, reason, judged


def points(value: float) -> str:
    """A difference of accuracies in percentage points, signed: ``+1.23``."""
    return f"{100 * value:+.2f}"


def pct(value: float) -> str:
    return f"{100 * value:.2f}%"
