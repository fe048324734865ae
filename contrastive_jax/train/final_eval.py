"""Evaluation during and after training: online kNN, and the final table of held-out linear
probe and kNN accuracy for the learned encoder, the same encoder at initialisation, and raw
pixels (the two baselines every SSL number should be read against).

Options read by ``experiments/``: ``eval.probe_projection`` adds a ``learned_projection`` row
(the projector's output, probed like the encoder's features); ``eval.diagnostics`` adds RankMe,
uniformity and per-dimension std (collapse measures) to every row. Image-text methods (with
``embed_text``, on a ``captions:`` source) also get ``zero_shot`` accuracy in their rows.

``summary.json`` also records ``knn_k``, the ``environment`` (package versions, git commit and
dirty tree, devices) and ``warnings`` (a learned row not above random init, a probe ``l2`` at
the edge of ``eval.probe_l2_grid``), which the printed table repeats.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import time

import jax
import ml_collections
import numpy as np
from etils import epath

from contrastive_jax import evaluate
from contrastive_jax.train import workdir as workdir_lib
from contrastive_jax.train.mesh import to_host
from contrastive_jax.train.state import merge_model


class Evaluation:
    """Embeds the train and held-out splits with a train state's encoder and scores them."""

    def __init__(self, parts, graphdef, eval_config: ml_collections.ConfigDict):
        self.method = parts.method
        self.config = eval_config
        self.num_classes = parts.train_source.info.num_classes
        self.train = parts.train_source.as_arrays()
        self.test = parts.test_source.as_arrays()
        self.last_features = None
        self.prompts = getattr(parts.train_source, "prompts", None)  # captions: [C, T, L]
        self._graphdef = graphdef
        self._embed = self._jit(parts.method.embed)

    def _jit(self, embed_fn):
        """``embed_fn(model, x)`` as a jitted function of (params, model_state, x); float32
        features also when the model computes in bfloat16 (``config.dtype``)."""
        graphdef = self._graphdef
        return jax.jit(lambda params, model_state, x: embed_fn(
            merge_model(graphdef, params, model_state), x).astype(np.float32))

    def embed(self, state, images: np.ndarray, embed_fn=None) -> np.ndarray:
        embed_fn = embed_fn or self._embed
        return evaluate.embed_dataset(
            lambda model, x: to_host(embed_fn(model.params, model.model_state, x)), state,
            images, batch_size=self.config.batch_size)

    def _features(self, state):
        return self.embed(state, self.train["image"]), self.embed(state, self.test["image"])

    def _knn(self, train_features, test_features) -> float:
        return float(evaluate.knn_accuracy(
            train_features, self.train["label"], test_features, self.test["label"],
            num_classes=self.num_classes, k=self.config.knn_k,
            temperature=self.config.knn_temperature))

    def online_knn(self, state) -> float:
        """Held-out weighted-cosine kNN accuracy of the current encoder (NaN if it diverged)."""
        train_features, test_features = self._features(state)
        if not (np.isfinite(train_features).all() and np.isfinite(test_features).all()):
            return float("nan")
        return self._knn(train_features, test_features)

    def score(self, train_features, test_features) -> dict:
        finite = np.isfinite(train_features).all() and np.isfinite(test_features).all()
        if not finite:  # a diverged encoder: report it, don't crash the run's summary
            return {"knn": float("nan"), "linear_probe": float("nan"),
                    "feature_dim": int(train_features.shape[1]), "error": "non-finite features"}
        scores = {"knn": self._knn(train_features, test_features)}
        if self.config.final_linear_probe:
            probe = evaluate.linear_probe(
                train_features, self.train["label"], test_features, self.test["label"],
                num_classes=self.num_classes, l2_grid=tuple(self.config.probe_l2_grid),
                max_iter=self.config.probe_max_iter)
            scores["linear_probe"] = float(probe["accuracy"])
            scores["linear_probe_l2"] = float(probe["l2"])
        scores["feature_dim"] = int(train_features.shape[1])
        if self.config.get("diagnostics", False):
            scores.update(evaluate.representation_diagnostics(test_features))
        return scores

    def projection_scores(self, state) -> dict:
        """Scores of the projector's output (``method.embed_projection``)."""
        if not hasattr(self, "_embed_projection"):
            self._embed_projection = self._jit(self.method.embed_projection)
        return self.score(self.embed(state, self.train["image"], self._embed_projection),
                          self.embed(state, self.test["image"], self._embed_projection))

    def zero_shot(self, state) -> float | None:
        """Held-out zero-shot accuracy from every caption template of every class, for methods
        with ``embed_text`` on a captions source; None otherwise."""
        if self.prompts is None or not hasattr(self.method, "embed_text"):
            return None
        if not hasattr(self, "_embed_image"):
            self._embed_image = self._jit(self.method.embed_image)
            self._embed_text = self._jit(self.method.embed_text)
        images = self.embed(state, self.test["image"], self._embed_image)
        num_classes, num_templates, length = self.prompts.shape
        text = self.embed(state, self.prompts.reshape(-1, length), self._embed_text)
        return evaluate.zero_shot_accuracy(images, self.test["label"],
                                           text.reshape(num_classes, num_templates, -1))

    def _encoder_scores(self, state, features=None) -> dict:
        """The scores of ``state``'s encoder (+ zero-shot where the method has a text tower)."""
        scores = self.score(*(features or self._features(state)))
        zero_shot = self.zero_shot(state)
        if zero_shot is not None:
            scores["zero_shot"] = zero_shot
        return scores

    def final(self, state, config, *, start_time: float, initial_state=None,
              skipped_steps: int = 0, resumed_from_step: int = 0) -> dict:
        """The summary dict: scores per baseline, steps, timings.

        ``wall_time_s`` and ``skipped_steps`` cover the whole run, every invocation: the loop
        passes the start time less the time stored in the restored checkpoint, and the train
        state's ``skipped_steps``."""
        features = self._features(state)
        self.last_features = features[1]
        results = {"learned": self._encoder_scores(state, features)}
        if self.config.get("probe_projection", False):
            results["learned_projection"] = self.projection_scores(state)
        if self.config.final_baselines:
            if initial_state is not None:
                results["random_init"] = self._encoder_scores(initial_state)
            pixels = lambda images: images.reshape(len(images), -1).astype(np.float32) / 255.0
            results["raw_pixels"] = self.score(pixels(self.train["image"]),
                                               pixels(self.test["image"]))
        return {
            "method": config.method.name, "dataset": config.dataset.name,
            "encoder": config.encoder.name, "seed": config.seed,
            "steps": int(to_host(state.step)), "resumed_from_step": resumed_from_step,
            "skipped_steps": skipped_steps,
            "held_out_examples": int(len(self.test["label"])), "knn_k": int(self.config.knn_k),
            "results": results, "warnings": summary_warnings(results, self.config.probe_l2_grid),
            "wall_time_s": round(time.time() - start_time, 1), "environment": environment(),
        }


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


def rows_not_above_random_init(results: dict) -> dict[str, str]:
    """``{row: warning}`` for each learned row (``learned``, ``learned_projection``) whose linear
    probe (kNN when there is no probe) is not above the ``random_init`` row's: training did not
    beat the untrained encoder. Empty without a ``random_init`` row."""
    baseline = results.get("random_init")
    if baseline is None:
        return {}
    metric = "linear_probe" if "linear_probe" in baseline else "knn"
    flagged = {}
    for name in ("learned", "learned_projection"):
        value = results.get(name, {}).get(metric)
        if value is not None and not value > baseline[metric]:
            flagged[name] = (
                f"{name}'s {metric.replace('_', ' ')} ({100 * value:.2f}%) is not above the "
                f"random-init encoder's ({100 * baseline[metric]:.2f}%): training did not "
                f"improve on the untrained encoder.")
    return flagged


def probe_l2_at_grid_edge(results: dict, l2_grid) -> list[str]:
    """A warning per row whose probe chose the smallest or largest ``l2`` of a grid of several:
    the best value may lie outside the grid."""
    grid = sorted(float(l2) for l2 in l2_grid)
    if len(grid) < 2:
        return []
    return [f"{name}'s linear probe chose l2={row['linear_probe_l2']:g}, the "
            f"{'smallest' if row['linear_probe_l2'] == grid[0] else 'largest'} value of "
            f"eval.probe_l2_grid {tuple(grid)}: the best l2 may lie outside it; widen the grid."
            for name, row in results.items()
            if row.get("linear_probe_l2") in (grid[0], grid[-1])]


def summary_warnings(results: dict, l2_grid) -> list[str]:
    """Every warning the final table prints: learned rows not above random init, then probes
    whose ``l2`` is at the edge of the grid."""
    return list(rows_not_above_random_init(results).values()) + probe_l2_at_grid_edge(
        results, l2_grid)


NOT_ABOVE_MARK = "  <- not above random_init"


def format_table(summary: dict) -> str:
    """The printed final table: one row per baseline (kNN with the run's k, zero-shot for
    image-text methods); a row whose probe is not above random init is marked, and the
    summary's ``warnings`` follow the table."""
    k = summary.get("knn_k", 20)
    zero_shot = any("zero_shot" in row for row in summary["results"].values())
    flagged = rows_not_above_random_init(summary["results"])
    header = f"{'held-out accuracy':<18}{'linear probe':>14}{f'kNN (k={k})':>12}"
    lines = [header + (f"{'zero-shot':>11}" if zero_shot else "") + f"{'dim':>7}"]
    for name, row in summary["results"].items():
        probe = f"{100 * row['linear_probe']:.2f}%" if "linear_probe" in row else "-"
        line = f"{name:<18}{probe:>14}{100 * row['knn']:>11.2f}%"
        if zero_shot:
            line += f"{100 * row['zero_shot']:>10.2f}%" if "zero_shot" in row else f"{'-':>11}"
        line += f"{row['feature_dim']:>7}" + (NOT_ABOVE_MARK if name in flagged else "")
        lines.append(line)
    lines += [f"warning: {warning}" for warning in summary.get("warnings", [])]
    return "\n".join(lines)


def write_outputs(workdir: str, summary: dict, metric_rows: list[dict], evaluation) -> None:
    """``summary.json``, ``plots/loss.png`` (+ ``plots/embedding.png``), the printed table and
    where they were written."""
    summary_path = epath.Path(workdir) / "summary.json"
    workdir_lib.write_text_atomic(summary_path, json.dumps(summary, indent=2))
    with workdir_lib.local_staging(epath.Path(workdir) / "plots") as plots:
        written = _write_plots(plots, summary, metric_rows, evaluation)
    written = [str(epath.Path(workdir) / "plots" / os.path.basename(p)) for p in written]
    print(format_table(summary), flush=True)
    print(f"Wrote {summary_path}" + (f"; plots: {', '.join(written)}" if written else ""),
          flush=True)


def _write_plots(plots: str, summary: dict, metric_rows: list[dict], evaluation) -> list[str]:
    """The PNG plots in the local directory ``plots``; returns their paths."""
    written = []
    keys = [k for k in ("loss", "learning_rate", "knn_accuracy")
            if any(k in row for row in metric_rows)]
    if metric_rows:
        random_knn = summary["results"].get("random_init", {}).get("knn")
        baselines = ({"knn_accuracy": (random_knn, "random-init encoder, final eval")}
                     if random_knn is not None else {})
        written.append(evaluate.plot_metrics(
            metric_rows, os.path.join(plots, "loss.png"), keys=keys, baselines=baselines,
            min_spans={"knn_accuracy": KNN_MIN_SPAN}))
    if evaluation.config.plot_embedding and evaluation.last_features is not None:
        written.append(evaluate.plot_embedding(
            evaluation.last_features, evaluation.test["label"],
            os.path.join(plots, "embedding.png"), method="pca",
            title=(f"{summary['method']} on {summary['dataset']}, step {summary['steps']}\n"
                   "encoder features (not the projection), held-out split, PCA")))
    return written


# The online-kNN panel's y-axis is at least this tall (5 accuracy points).
KNN_MIN_SPAN = 0.05
