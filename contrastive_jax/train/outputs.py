"""What a finished run writes to its workdir, and what its numbers depend on.

``write_outputs``: ``summary.json`` (atomically), ``per_example.npz`` when the method keeps
per-example arrays, ``plots/loss.png`` (the logged metrics, the random-init kNN as a reference
line) and ``plots/embedding.png`` (PCA of the held-out features, coloured by class), then the
printed table. ``environment``: package versions, git commit and dirty tree, devices, recorded in
every summary (``train.final_eval``, ``train.graph_eval``).
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import subprocess

import jax
import numpy as np
from etils import epath

from contrastive_jax import evaluate
from contrastive_jax.train import workdir as workdir_lib
from contrastive_jax.train.summary_table import format_table


VERSIONED_PACKAGES = ("jax", "jaxlib", "flax", "optax")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _git(*args) -> str | None:
    try:
        result = subprocess.run(["git", "-C", REPO_ROOT, *args], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def environment() -> dict:
    """What a number depends on besides the config: ``{"versions": {package: version},
    "git_commit", "git_dirty" (both None unless the package runs from a git checkout; dirty:
    uncommitted or untracked files), "device_kind", "device_count",
    "platform"}``."""
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    inside = _git("rev-parse", "--show-toplevel")  # None for an installed (non-editable) copy
    commit = _git("rev-parse", "HEAD") if inside and os.path.samefile(inside, REPO_ROOT) else None
    status = _git("status", "--porcelain") if commit else None
    device = jax.devices()[0]
    return {"versions": versions, "git_commit": commit,
            "git_dirty": None if status is None else bool(status),
            "device_kind": device.device_kind, "device_count": jax.device_count(),
            "platform": device.platform}


def write_outputs(workdir: str, summary: dict, metric_rows: list[dict], evaluation) -> None:
    """``summary.json``, ``plots/loss.png`` (+ ``plots/embedding.png``), the printed table and
    where they were written."""
    summary_path = epath.Path(workdir) / "summary.json"
    workdir_lib.write_text_atomic(summary_path, json.dumps(summary, indent=2))
    if getattr(evaluation, "per_example", None) is not None:
        buffer = io.BytesIO()  # per_example.npz: the method's [N] arrays and the labels
        np.savez(buffer, **evaluation.per_example)
        (epath.Path(workdir) / "per_example.npz").write_bytes(buffer.getvalue())
    with workdir_lib.local_staging(epath.Path(workdir) / "plots") as plots:
        written = _write_plots(plots, summary, metric_rows, evaluation)
    written = [str(epath.Path(workdir) / "plots" / os.path.basename(p)) for p in written]
    print(format_table(summary), flush=True)
    print(f"Wrote {summary_path}" + (f"; plots: {', '.join(written)}" if written else ""),
          flush=True)


def _write_plots(plots: str, summary: dict, metric_rows: list[dict], evaluation) -> list[str]:
    """The PNG plots in the local directory ``plots``; returns their paths."""
    written = []
    keys = [k for k in ("loss", "learning_rate", "knn_accuracy", "probe_mae",
                    "node_probe_accuracy")
            if any(k in row for row in metric_rows)]
    if metric_rows:
        random_knn = summary["results"].get("random_init", {}).get("knn")
        baselines = ({"knn_accuracy": (random_knn, "random-init encoder, final eval")}
                     if random_knn is not None else {})
        written.append(evaluate.plot_metrics(
            metric_rows, os.path.join(plots, "loss.png"), keys=keys, baselines=baselines,
            min_spans={"knn_accuracy": KNN_MIN_SPAN}))
    if (evaluation.config.plot_embedding and evaluation.last_features is not None
            and evaluation.labelled  # the plot colours points by class
            and not getattr(evaluation, "regression", False)):
        written.append(evaluate.plot_embedding(
            evaluation.last_features, evaluation.last_labels,
            os.path.join(plots, "embedding.png"), method="pca",
            title=(f"{summary['method']} on {summary['dataset']}, step {summary['steps']}\n"
                   "encoder features (not the projection), held-out split, PCA")))
    return written


# The online-kNN panel's y-axis is at least this tall (5 accuracy points).
KNN_MIN_SPAN = 0.05
