"""Paired statistics of a claimed difference, and the verdict rule every table uses.

A claim such as "DCL beats NT-Xent at batch 32" is a *difference* between cells. Runs are
paired by seed: the same ``--config.seed`` gives the same data order (grain's shuffle of the
train split), the same initial parameters (``jax.random.key(seed)``) and the same per-step
keys in every cell whose batch size and encoder match, so the per-seed difference
``d_s = metric(cell A, seed s) - metric(cell B, seed s)`` cancels what the seed alone
explains. From the ``n`` paired differences:

* **paired t interval** (the one the verdict reads): ``mean(d) ± t_{0.975, n-1} sd(d) / sqrt(n)``,
  Student's t with ``n - 1`` degrees of freedom. It is exact for normal differences and stays
  honest at the 3 to 10 seeds a CPU table has.
* **percentile bootstrap interval** (shown beside it, not used by the rule): the 2.5 and 97.5
  percentiles of the mean of ``n`` differences resampled with replacement, ``10,000``
  resamples from ``numpy.random.default_rng(0)`` (fixed, so a page re-renders byte-identical).
  With 3 seeds there are only 10 distinct resamples and it is far too narrow, which is why the
  rule does not use it.

The rule (``decide``): a claimed difference **holds** only when its 95% t interval excludes
zero on the claimed side, is **contradicted** when it excludes zero on the other side, and is
**inconclusive** otherwise, including with fewer than 2 paired seeds. A claim made of several
differences (a conjunction) holds when every one holds, is contradicted when any one is
contradicted, and is inconclusive otherwise (``overall``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
MIN_SEEDS = 5  # the floor for a claimed difference; fewer is flagged on the page
OUTCOMES = ("holds", "contradicted", "inconclusive")


def t_quantile(probability: float, dof: int) -> float:
    """The ``probability`` quantile of Student's t with ``dof`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(probability, dof))


def paired_t_interval(differences: Sequence[float], *, confidence: float = CONFIDENCE
                      ) -> tuple[float, float]:
    """``(low, high)``: the two-sided ``confidence`` t interval of the mean of ``differences``
    (NaNs for fewer than 2 values)."""
    values = np.asarray(differences, np.float64)
    if len(values) < 2:
        return math.nan, math.nan
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    half = t_quantile(0.5 + confidence / 2, len(values) - 1) * sd / math.sqrt(len(values))
    return mean - half, mean + half


def bootstrap_interval(differences: Sequence[float], *, confidence: float = CONFIDENCE,
                       resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
                       ) -> tuple[float, float]:
    """``(low, high)``: percentile bootstrap interval of the mean of ``differences`` (resampled
    with replacement, fixed RNG); NaNs for fewer than 2 values."""
    values = np.asarray(differences, np.float64)
    if len(values) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def decide(low: float, high: float, direction: int) -> str:
    """The rule: ``holds`` when ``[low, high]`` excludes zero on the side of ``direction``
    (+1: the difference is claimed positive, -1: negative), ``contradicted`` when it excludes
    zero on the other side, else ``inconclusive`` (NaN bounds: too few seeds)."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        return "inconclusive"
    if low > 0:
        return "holds" if direction > 0 else "contradicted"
    if high < 0:
        return "holds" if direction < 0 else "contradicted"
    return "inconclusive"


def overall(outcomes: Sequence[str]) -> str:
    """A conjunction of claimed differences: ``holds`` if all hold, ``contradicted`` if any is
    contradicted, else ``inconclusive``."""
    if not outcomes:
        return "inconclusive"
    if any(o == "contradicted" for o in outcomes):
        return "contradicted"
    return "holds" if all(o == "holds" for o in outcomes) else "inconclusive"


def judge_difference(differences: Sequence[float], direction: int) -> dict:
    """Everything the page shows of one claimed difference: ``n``, ``mean``, ``sd``, the t and
    bootstrap intervals and the rule's ``outcome``."""
    values = [float(v) for v in differences]
    t_low, t_high = paired_t_interval(values)
    boot_low, boot_high = bootstrap_interval(values)
    n = len(values)
    return {"n": n, "mean": float(np.mean(values)) if n else math.nan,
            "sd": float(np.std(values, ddof=1)) if n > 1 else math.nan,
            "t_low": t_low, "t_high": t_high, "boot_low": boot_low, "boot_high": boot_high,
            "outcome": decide(t_low, t_high, direction)}
