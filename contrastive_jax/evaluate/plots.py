"""PNG plots: a 2-D view of an embedding coloured by label, and training curves.

Figures are drawn on matplotlib's Agg canvas directly (``matplotlib.figure.Figure``), never
through ``pyplot``, so plotting works headless and leaves a notebook's backend alone.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

METHODS = ("tsne", "pca")
_METHOD_NAMES = {"tsne": "t-SNE", "pca": "PCA"}


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path)
    return path


def project_2d(features: np.ndarray, *, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """``features: [N, D]`` -> ``[N, 2]`` by t-SNE (on L2-normalized rows, cosine geometry) or
    PCA (on centred rows)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    features = np.asarray(features, np.float64).reshape(len(features), -1)
    if method == "pca":
        if features.shape[1] < 2:
            return np.pad(features, ((0, 0), (0, 2 - features.shape[1])))
        return PCA(n_components=2, random_state=seed).fit_transform(features)
    if method == "tsne":
        features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        perplexity = float(min(30.0, max(1.0, (len(features) - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                    metric="euclidean").fit_transform(features)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def plot_embedding(features, labels, path: str, *, method: str = "tsne", max_points: int = 2000,
                   title: str | None = None, seed: int = 0) -> str:
    """Scatter a 2-D projection of ``features: [N, D]`` coloured by ``labels: int [N]`` and
    write it to ``path`` (PNG). At most ``max_points`` seeded random points are drawn.
    A legend names up to 20 classes; more classes get a colour bar. Returns ``path``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    features, labels = np.asarray(features), np.asarray(labels).reshape(-1)
    if len(features) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(features), max_points, replace=False))
        features, labels = features[keep], labels[keep]
    points = project_2d(features, method=method, seed=seed)
    classes = np.unique(labels)
    figure = _new_figure(6.5, 5.5)
    axes = figure.add_subplot()
    if len(classes) <= 20:
        import matplotlib
        colour_map = matplotlib.colormaps["tab20" if len(classes) > 10 else "tab10"]
        for index, label in enumerate(classes):
            chosen = labels == label
            axes.scatter(points[chosen, 0], points[chosen, 1], s=6, alpha=0.8,
                         color=colour_map(index), label=str(label))
        axes.legend(title="label", markerscale=2.5, fontsize=7, loc="center left",
                    bbox_to_anchor=(1.0, 0.5), frameon=False)
    else:
        scatter = axes.scatter(points[:, 0], points[:, 1], s=6, alpha=0.8, c=labels,
                               cmap="viridis")
        figure.colorbar(scatter, ax=axes, label="label")
    axes.set_title(title or f"embedding ({_METHOD_NAMES[method]}, {len(labels)} points)")
    axes.set_xticks([])
    axes.set_yticks([])
    return _save(figure, path)


def y_limits(values, *, baseline: float | None = None, min_span: float = 0.0,
             bounds: tuple[float, float] = (-np.inf, np.inf)) -> tuple[float, float]:
    """A y-range covering the finite ``values`` and ``baseline``, at least ``min_span`` wide
    (widened evenly about the middle, then shifted to stay inside ``bounds``), with 5% margins.

    E.g. kNN accuracies 0.981..0.982 with ``min_span=0.05, bounds=(0, 1)`` give a 5-point-wide
    axis, so a 0.1-point wobble does not fill the panel.
    """
    points = [float(v) for v in values if np.isfinite(v)]
    if baseline is not None and np.isfinite(baseline):
        points.append(float(baseline))
    if not points:
        return (0.0, 1.0)
    low, high = min(points), max(points)
    span = max(high - low, min_span)
    margin = 0.05 * span if span > 0 else 0.5
    low, high = (low + high - span) / 2 - margin, (low + high + span) / 2 + margin
    lower, upper = bounds
    if high - low >= upper - lower:
        return (lower, upper)
    shift = max(lower - low, 0.0) + min(upper - high, 0.0)
    return (low + shift, high + shift)


def plot_metrics(metrics_rows: Sequence[dict], path: str, keys: Sequence[str] = ("loss",),
                 *, step_key: str = "step", title: str | None = None,
                 baselines: Mapping[str, tuple[float, str]] | None = None,
                 min_spans: Mapping[str, float] | None = None) -> str:
    """One panel per key of value against ``step`` from metrics.jsonl rows, written to ``path``.

    metrics_rows: dicts such as ``{"step": 100, "loss": 4.1, "learning_rate": 0.3}``; rows
    without a key (e.g. kNN accuracy logged only every few thousand steps) are skipped in that
    key's panel. A key with no values gets an empty panel saying so.
    baselines: ``{key: (value, label)}``, a dashed horizontal line with a legend entry (e.g. the
    random-init encoder's kNN accuracy on the ``knn_accuracy`` panel).
    min_spans: ``{key: span}``, the least height of that panel's y-axis (see ``y_limits``);
    keys ending in ``accuracy`` stay inside [0, 1]. Returns ``path``.
    """
    keys = list(keys) or ["loss"]
    baselines, min_spans = dict(baselines or {}), dict(min_spans or {})
    figure = _new_figure(6.0, 2.4 * len(keys))
    first = None
    for index, key in enumerate(keys):
        axes = figure.add_subplot(len(keys), 1, index + 1, sharex=first)
        first = first or axes
        rows = [row for row in metrics_rows if key in row and row[key] is not None]
        steps = np.asarray([row.get(step_key, i) for i, row in enumerate(rows)], np.float64)
        values = np.asarray([row[key] for row in rows], np.float64)
        if len(values):
            axes.plot(steps, values, marker="o" if len(values) <= 30 else None, markersize=3,
                      linewidth=1.2, label=key)
        else:
            axes.text(0.5, 0.5, f"no '{key}' values", ha="center", va="center",
                      transform=axes.transAxes)
        baseline, label = baselines.get(key, (None, ""))
        if baseline is not None and np.isfinite(baseline):
            axes.axhline(baseline, color="tab:red", linestyle="--", linewidth=1.0,
                         label=f"{label} ({baseline:.4g})")
            axes.legend(fontsize=7, loc="best")
        if key in min_spans or baseline is not None:
            bounds = (0.0, 1.0) if key.endswith("accuracy") else (-np.inf, np.inf)
            axes.set_ylim(*y_limits(values, baseline=baseline,
                                    min_span=min_spans.get(key, 0.0), bounds=bounds))
        axes.set_ylabel(key)
        axes.grid(alpha=0.3)
        if index == len(keys) - 1:
            axes.set_xlabel(step_key)
    if title:
        figure.suptitle(title)
    return _save(figure, path)
