"""Evaluation during and after training: online kNN, and the final table of held-out linear
probe and kNN accuracy for the learned encoder, the same encoder at initialisation, and raw
pixels (the two baselines every SSL number should be read against).

Options read by ``experiments/``: ``eval.probe_projection`` adds a ``learned_projection`` row
(the projector's output, probed like the encoder's features); ``eval.diagnostics`` adds RankMe,
uniformity and per-dimension std (collapse measures) to every row. Image-text methods (with
``embed_text``, on a ``captions:`` source) also get ``zero_shot`` accuracy in their rows.
"""

from __future__ import annotations

import json
import os
import time

import jax
import ml_collections
import numpy as np

from contrastive_jax import evaluate
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
        """``embed_fn(model, x)`` as a jitted function of (params, model_state, x)."""
        graphdef = self._graphdef
        return jax.jit(lambda params, model_state, x: embed_fn(
            merge_model(graphdef, params, model_state), x))

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

        ``wall_time_s`` and ``skipped_steps`` cover this process only: after a resume
        (``resumed_from_step > 0``) they leave out the steps before it."""
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
            "held_out_examples": int(len(self.test["label"])),
            "results": results, "wall_time_s": round(time.time() - start_time, 1),
        }


def format_table(summary: dict) -> str:
    """The printed final table: one row per baseline."""
    lines = [f"{'held-out accuracy':<18}{'linear probe':>14}{'kNN (k=20)':>12}{'dim':>7}"]
    for name, row in summary["results"].items():
        probe = f"{100 * row['linear_probe']:.2f}%" if "linear_probe" in row else "-"
        lines.append(f"{name:<18}{probe:>14}{100 * row['knn']:>11.2f}%{row['feature_dim']:>7}")
    return "\n".join(lines)


def write_outputs(workdir: str, summary: dict, metric_rows: list[dict], evaluation) -> None:
    """``summary.json``, ``plots/loss.png`` (+ ``plots/embedding.png``) and the printed table."""
    os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
    tmp = os.path.join(workdir, "summary.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(tmp, os.path.join(workdir, "summary.json"))
    keys = [k for k in ("loss", "learning_rate", "knn_accuracy")
            if any(k in row for row in metric_rows)]
    if metric_rows:
        evaluate.plot_metrics(metric_rows, os.path.join(workdir, "plots", "loss.png"), keys=keys)
    if evaluation.config.plot_embedding and evaluation.last_features is not None:
        evaluate.plot_embedding(evaluation.last_features, evaluation.test["label"],
                                os.path.join(workdir, "plots", "embedding.png"), method="pca",
                                title=f"{summary['method']}: held-out embedding (PCA)")
    print(format_table(summary), flush=True)
