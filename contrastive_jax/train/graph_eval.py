"""Node-level evaluation of a graph run (``graph:<name>`` sources): the node probe over random
10% / 10% / 80% splits (``eval.node_probe_draws`` draws, 20 by default) and k-means NMI / ARI on
the node embeddings, for the learned encoder, the random-init encoder and the raw node features
(``raw_features``); ``evaluate.node_classification`` does the scoring.

``GraphEvaluation`` has the interface of ``final_eval.Evaluation`` that ``train.loop`` uses
(``online_metrics``, ``final``, ``last_features`` / ``last_labels``), so the loop is the same
for every modality; ``make_evaluation`` picks it for a source whose ``info.graph`` is set. The
graph is embedded whole in one jitted call (it is one example); the online metric
(``node_probe_accuracy`` in ``metrics.jsonl``) is the probe on the first split draw.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from contrastive_jax.evaluate import node_classification
from contrastive_jax.train import final_eval, outputs
from contrastive_jax.train.state import merge_model
from contrastive_jax.train.summary_table import summary_warnings

DEFAULT_DRAWS = 20


def is_graph(source) -> bool:
    return bool(getattr(getattr(source, "info", None), "graph", False))


def check_graph_mesh(config, mesh) -> None:
    """A ``graph:<name>`` run holds one graph per batch, so it runs on one device: fail with
    that fix (instead of the batch-divisibility message) on a mesh of several."""
    if str(config.dataset.name).startswith("graph:") and mesh.size > 1:
        raise ValueError(
            f"{config.dataset.name}: the batch is one graph, which runs on one device, but the "
            f"mesh has {mesh.size}. Run with one visible device (e.g. CUDA_VISIBLE_DEVICES=0, "
            f"or on CPU without --xla_force_host_platform_device_count).")


def make_evaluation(parts, graphdef, eval_config, *, mesh=None):
    """The run's evaluation: ``GraphEvaluation`` for a graph source, else
    ``final_eval.Evaluation``."""
    if is_graph(parts.train_source):
        return GraphEvaluation(parts, graphdef, eval_config, mesh=mesh)
    return final_eval.Evaluation(parts, graphdef, eval_config, mesh=mesh)


class GraphEvaluation:
    """Node probe and clustering of one graph's node embeddings (see the module docstring)."""

    def __init__(self, parts, graphdef, eval_config, *, mesh=None):
        del mesh  # the graph is one example, embedded on one device
        source = parts.train_source
        self.method, self.config, self.source = parts.method, eval_config, source
        self.labels = np.asarray(source.node_labels, np.int32)
        self.num_classes = source.info.num_classes
        self.labelled, self.per_example = True, None
        self.last_features = self.last_labels = None
        draws = int(eval_config.get("node_probe_draws", DEFAULT_DRAWS))
        if draws < 1:
            raise ValueError(f"config.eval.node_probe_draws must be >= 1, got {draws}.")
        self.splits = [source.split(d) for d in range(draws)]
        inputs = {"x": source.x, "edges": source.edges, "edge_mask": source.edge_mask}
        self._embed = jax.jit(lambda params, model_state: parts.method.embed_nodes(
            merge_model(graphdef, params, model_state), inputs))

    def node_features(self, state) -> np.ndarray:
        """``[N, D]`` node embeddings of ``state``'s encoder; the raw features for None."""
        if state is None:
            return np.asarray(self.source.x, np.float32)
        return np.asarray(self._embed(state.params, state.model_state), np.float32)

    def _probe(self, features, splits) -> dict:
        return node_classification.node_probe(
            features, self.labels, splits, num_classes=self.num_classes,
            l2_grid=self.config.probe_l2_grid, max_iter=int(self.config.probe_max_iter))

    def online_metrics(self, state) -> dict[str, float]:
        features = self.node_features(state)
        if not np.isfinite(features).all():
            return {"node_probe_accuracy": float("nan")}
        return {"node_probe_accuracy": self._probe(features, self.splits[:1])["linear_probe"]}

    def row(self, features: np.ndarray) -> dict:
        if not np.isfinite(features).all():
            return {"linear_probe": float("nan"), "nmi": float("nan"), "ari": float("nan"),
                    "feature_dim": int(features.shape[1])}
        return {**self._probe(features, self.splits),
                **node_classification.kmeans_scores(features, self.labels,
                                                    num_clusters=self.num_classes),
                "feature_dim": int(features.shape[1])}

    def final(self, state, config, *, start_time: float, initial_state=None,
              skipped_steps: int = 0, resumed_from_step: int = 0) -> dict:
        learned = self.node_features(state)
        self.last_features, self.last_labels = learned, self.labels
        results = {"learned": self.row(learned)}
        if self.config.final_baselines:
            if initial_state is not None:
                results["random_init"] = self.row(self.node_features(initial_state))
            results["raw_features"] = self.row(self.node_features(None))
        return {
            "method": config.method.name, "dataset": config.dataset.name,
            "encoder": config.encoder.name, "seed": config.seed,
            "steps": int(jax.device_get(state.step)), "resumed_from_step": resumed_from_step,
            "skipped_steps": skipped_steps, "nodes": int(len(self.labels)),
            "edges": int(self.source.num_edges), "node_probe_draws": len(self.splits),
            "held_out_examples": int(len(self.splits[0][2])),
            "results": results, "warnings": summary_warnings(results, ()),
            "wall_time_s": round(time.time() - start_time, 1),
            "environment": outputs.environment(),
        }
