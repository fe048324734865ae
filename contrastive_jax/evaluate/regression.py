"""Held-out ridge regression probe of frozen features, for sources with a float target.

The probe of a regression representation (SupReMix, "Mixup Your Own Pairs", 2023, reads its
encoders with a linear regressor): features standardised with the training split's mean and
std, ``w = argmin ||X w + b - y||^2 + l2 ||w||^2`` in closed form (float64; the intercept
``b`` is not penalised, as scikit-learn's ``Ridge(alpha=l2)``), ``l2`` chosen from a grid by
the MAE on a seeded validation part of the training split, then refit on all of it and scored
on the held-out split: mean absolute error, R^2 and RMSE, in the target's units.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from contrastive_jax.evaluate.evaluators import TEST, TRAIN, SplitEvaluator
from contrastive_jax.evaluate.features import EmbedFn, SplitFeatures

DEFAULT_RIDGE_L2_GRID = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)


def fit_ridge(features: np.ndarray, targets: np.ndarray, l2: float):
    """``(w [D], b)`` minimising ``||X w + b - y||^2 + l2 ||w||^2`` (float64)."""
    x = np.asarray(features, np.float64)
    y = np.asarray(targets, np.float64)
    x_mean, y_mean = x.mean(axis=0), y.mean()
    centered = x - x_mean
    gram = centered.T @ centered + l2 * np.eye(x.shape[1])
    weights = np.linalg.solve(gram, centered.T @ (y - y_mean))
    return weights, y_mean - x_mean @ weights


def regression_scores(predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """``{"mae", "rmse", "r2"}`` of ``predictions`` against ``targets`` (float64)."""
    predictions = np.asarray(predictions, np.float64)
    targets = np.asarray(targets, np.float64)
    residual = predictions - targets
    total = np.sum((targets - targets.mean()) ** 2)
    return {"mae": float(np.mean(np.abs(residual))),
            "rmse": float(np.sqrt(np.mean(residual ** 2))),
            "r2": float(1.0 - np.sum(residual ** 2) / total) if total > 0 else float("nan")}


def ridge_probe(train_features: np.ndarray, train_targets: np.ndarray,
                test_features: np.ndarray, test_targets: np.ndarray, *,
                l2_grid: Sequence[float] = DEFAULT_RIDGE_L2_GRID, val_fraction: float = 0.2,
                seed: int = 0, standardize: bool = True) -> dict:
    """Held-out ridge regression: ``{"mae", "rmse", "r2", "l2"}``.

    Args:
      train_features / test_features: [N, D] / [M, D] frozen features.
      train_targets / test_targets: [N] / [M] float targets.
      l2_grid: candidate L2 weights (one: no search).
      val_fraction: the share of the training rows (seeded by ``seed``) that scores each L2.
      standardize: scale the features by the training split's mean and std first (default).
    """
    train_x = np.asarray(train_features, np.float64)
    test_x = np.asarray(test_features, np.float64)
    train_y = np.asarray(train_targets, np.float64).reshape(-1)
    if len(train_x) != len(train_y) or len(train_x) < 2:
        raise ValueError(f"ridge_probe needs >= 2 training rows with one target each, got "
                         f"{len(train_x)} rows and {len(train_y)} targets.")
    if not l2_grid or min(l2_grid) <= 0:
        raise ValueError(f"ridge_probe: l2_grid must be L2 weights > 0, got {l2_grid!r}.")
    if standardize:
        mean, std = train_x.mean(axis=0), train_x.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    grid = sorted(float(l2) for l2 in l2_grid)
    best = grid[0]
    if len(grid) > 1:
        order = np.random.default_rng(seed).permutation(len(train_x))
        num_val = max(1, int(round(val_fraction * len(train_x))))
        val, fit = order[:num_val], order[num_val:]
        errors = []
        for l2 in grid:
            weights, bias = fit_ridge(train_x[fit], train_y[fit], l2)
            errors.append(np.mean(np.abs(train_x[val] @ weights + bias - train_y[val])))
        best = grid[int(np.argmin(errors))]
    weights, bias = fit_ridge(train_x, train_y, best)
    scores = regression_scores(test_x @ weights + bias, test_targets)
    return {**scores, "l2": best}


class RidgeProbeEvaluator(SplitEvaluator):
    """The held-out ridge probe (``ridge_probe``) of one encoder's features, whose "labels"
    are the float targets. Yields ``ridge_mae``, ``ridge_r2``, ``ridge_rmse`` and
    ``ridge_l2``."""

    def __init__(self, embed_fn: EmbedFn, *, train_batches, test_batches,
                 l2_grid: Sequence[float] = DEFAULT_RIDGE_L2_GRID, seed: int = 0):
        super().__init__(embed_fn, train_batches=train_batches, test_batches=test_batches)
        self.l2_grid, self.seed = tuple(l2_grid), seed

    def evaluate(self, features: SplitFeatures) -> Iterator[tuple[str, float]]:
        result = ridge_probe(*features[TRAIN], *features[TEST], l2_grid=self.l2_grid,
                             seed=self.seed)
        for key in ("mae", "r2", "rmse", "l2"):
            yield f"ridge_{key}", float(result[key])
