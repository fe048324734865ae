"""Evaluation during and after training: online kNN, and the final table of held-out linear
probe and kNN accuracy for the learned encoder, the same encoder at initialisation, and raw
pixels (the two baselines every SSL number should be read against).

The evaluators come from ``evaluate`` (built from ``config.eval`` by
``evaluate.evaluators_from_config``); this module only streams the splits to them
(``make_eval_loader``), embeds each batch sharded over the mesh (``sharded_embed``), and turns
their ``(name, value)`` pairs into the summary. Host memory holds features, never a split's
images.

Options read by ``experiments/``: ``eval.probe_projection`` adds a ``learned_projection`` row
(the projector's output, probed like the encoder's features); ``eval.diagnostics`` adds RankMe,
uniformity and per-dimension std (collapse measures) to every row; ``eval.low_label_shots``
adds the low-label probes (``evaluate.low_label``). A long-tailed training set
(``dataset.imbalance``) is probed on the balanced train split, and its rows gain per-class,
head and tail accuracy (``evaluate.per_class``) and the summary ``train_class_counts``; a
source with a second label (``textured:<source>``'s texture) adds ``texture_knn`` and
``texture_linear_probe`` to every row. Image-text methods (with
``embed_text``, on a ``captions:`` source) also get ``zero_shot`` accuracy in their rows.

A regression source (``info.task == "regression"``, ``data.regression``) is read by a held-out
ridge probe of its float targets instead (``evaluate.regression``: ``ridge_mae``,
``ridge_r2`` per row, ``probe_mae`` online; the raw-input row is ``raw_pixels`` or
``raw_features``).

``summary.json`` also records ``knn_k``, ``bad_files`` (unreadable image files a folder source
skipped, both splits), the ``environment`` (package versions, git commit and
dirty tree, devices; ``train.outputs``) and ``warnings`` (a learned row not above random init, a
probe ``l2`` at the edge of ``eval.probe_l2_grid``), which the printed table repeats.
``train.outputs`` writes the summary, the plots and the printed table to the workdir.
"""

from __future__ import annotations

import time

import jax
import ml_collections
import numpy as np

from contrastive_jax import evaluate
from contrastive_jax.data.pipeline import make_eval_loader
from contrastive_jax.evaluate.regression import DEFAULT_RIDGE_L2_GRID
from contrastive_jax.train import mesh as mesh_lib
from contrastive_jax.train.outputs import environment
from contrastive_jax.train.state import merge_model
from contrastive_jax.train.summary_table import (  # noqa: F401  (re-exported)
    NOT_ABOVE_MARK,
    RETRIEVAL_COLUMNS,
    format_retrieval_table,
    format_table,
    probe_l2_at_grid_edge,
    rows_not_above_random_init,
    summary_warnings,
)


def eval_batch_size(batch_size: int, mesh) -> int:
    """``eval.batch_size`` rounded up to a multiple of the mesh's devices, so every device
    embeds an equal share (the extra rows are padding, dropped)."""
    return -(-int(batch_size) // mesh.size) * mesh.size


class Evaluation:
    """The run's evaluators, built from ``config.eval``: the online kNN (every
    ``eval.every_steps``) and the final table, over the train and held-out splits streamed
    through ``make_eval_loader`` and embedded sharded over ``mesh``; only features stay on the
    host. ``transform(record) -> record`` is the host-side evaluation transform of each record
    (e.g. resize + center crop); ``None`` reads records as they are.

    After ``final``: ``last_features`` [N, D] / ``last_labels`` [N], the learned encoder's
    held-out features and labels (for the embedding plot).
    """

    def __init__(self, parts, graphdef, eval_config: ml_collections.ConfigDict, *, mesh=None,
                 transform=None):
        self.method = parts.method
        self.config = eval_config
        self.num_classes = parts.train_source.info.num_classes
        # The record keys the encoder reads (``SourceInfo.input_keys``; images: ("image",)).
        self.input_keys = tuple(getattr(parts.train_source.info, "input_keys", ("image",)))
        self.mesh = mesh if mesh is not None else mesh_lib.make_mesh(
            ml_collections.ConfigDict(dict(data=-1, fsdp=1)))
        self.batch_size = eval_batch_size(eval_config.batch_size, self.mesh)
        loader = lambda source: lambda: make_eval_loader(
            source, batch_size=self.batch_size, transform=transform)
        # A long-tailed training set (dataset.imbalance) is probed on the balanced train split.
        probe_source = getattr(parts, "probe_source", None) or parts.train_source
        self.class_counts = getattr(parts.train_source, "class_counts", None)
        self.splits = {"train": loader(probe_source), "test": loader(parts.test_source)}
        # Unreadable files a folder source skipped (``dataset.on_bad_file="skip"``), both splits.
        self.sources = (parts.train_source, parts.test_source)
        self.prompts = getattr(parts.train_source, "prompts", None)  # captions: [C, T, L]
        self.last_features = self.last_labels = None
        self.train_source = parts.train_source
        self.per_example = None  # after ``final``: a method's per-example arrays, or None
        self._graphdef = graphdef
        self._embed_fns = {}
        # A regression source (``info.task == "regression"``, data.regression): the "labels"
        # the features come with are the float targets, and the table is a ridge probe.
        self.regression = getattr(parts.train_source.info, "task", "") == "regression"
        # An image-text set without labels (num_classes 0) is evaluated by retrieval only.
        self.labelled = self.num_classes > 0
        self.evaluators = evaluate.evaluators_from_config(
            eval_config, self.embed_fn("embed"), train_batches=self.splits["train"],
            test_batches=self.splits["test"], num_classes=self.num_classes,
            class_counts=self.class_counts) if self.labelled else []
        if self.regression:
            self.evaluators = [evaluate.RidgeProbeEvaluator(
                self.embed_fn("embed"), train_batches=self.splits["train"],
                test_batches=self.splits["test"],
                l2_grid=tuple(eval_config.get("ridge_l2_grid", DEFAULT_RIDGE_L2_GRID)))]
        self.extra_labels = extra_label_evaluators(eval_config, self.embed_fn("embed"),
                                                   probe_source, parts.test_source)
        # Query/document pairs (codesearch:stdlib, text:<pairs>): held-out retrieval.
        self.pairs = (set(self.input_keys) == {"query", "document"}
                      and hasattr(self.method, "embed_document"))
        # Texts with a group id each (sentences:stdlib): the sentence-similarity proxy.
        self.sentence_groups = (getattr(parts.test_source, "groups", None)
                                if tuple(self.input_keys) == ("text",) else None)

    def embed_fn(self, method_fn: str, input_key: str | None = None):
        """``(model, batch) -> (features, labels)`` of the global batch on every process, for
        ``model = (params, model_state)`` and the method's ``method_fn`` ("embed",
        "embed_projection", "embed_image", "embed_text"); ``"pixels"``: the raw inputs
        flattened (uint8 pixels scaled to [0, 1]; a series as it is, zero where masked). The
        method reads ``batch[input_key]`` (default: the source's ``input_keys``; several keys
        reach it as a dict). The batch is placed with the mesh's batch sharding, so each device
        embeds its share."""
        input_key = self.input_keys if input_key is None else input_key
        if (method_fn, input_key) not in self._embed_fns:
            graphdef = self._graphdef
            if method_fn == "pixels":
                fn = lambda model, x: raw_features(x)
            else:
                embed = getattr(self.method, method_fn)
                fn = lambda model, x: embed(merge_model(graphdef, *model), x).astype(
                    jax.numpy.float32)  # float32 features also under config.dtype=bfloat16
            label_key = "target" if self.regression else "label"
            self._embed_fns[method_fn, input_key] = sharded_embed(fn, self.mesh, input_key,
                                                                  label_key)
        return self._embed_fns[method_fn, input_key]

    def features(self, state, method_fn: str = "embed") -> evaluate.SplitFeatures:
        """The train / held-out features of ``state``'s encoder, embedded on first use."""
        model = None if state is None else (state.params, state.model_state)
        return evaluate.SplitFeatures(self.embed_fn(method_fn), model, self.splits)

    def embed_split(self, state, method_fn: str, input_key: str,
                    split: str = "train") -> np.ndarray:
        """float32 [N, D]: ``split`` embedded by ``state``'s model through the method's
        ``method_fn`` reading ``input_key`` (e.g. the train queries for hard-negative mining)."""
        features, _ = evaluate.embed_split(self.embed_fn(method_fn, input_key),
                                           (state.params, state.model_state),
                                           self.splits[split]())
        return features

    def pair_row(self, state) -> dict[str, float]:
        """Held-out query -> document retrieval of ``state``'s encoder
        (``evaluate.pair_retrieval``: MRR@10, nDCG@10, Recall@1/5/10, alignment, uniformity)."""
        from contrastive_jax.evaluate.pair_retrieval import pair_retrieval_metrics

        queries = self.embed_split(state, "embed_query", "query", "test")
        documents = self.embed_split(state, "embed_document", "document", "test")
        return {**pair_retrieval_metrics(queries, documents),
                "feature_dim": int(queries.shape[1])}

    def _pair_results(self, state, initial_state) -> dict:
        """The rows of a query/document run: learned, random_init and (raw texts known) bm25."""
        results = {"learned": self.pair_row(state)}
        if self.config.final_baselines and initial_state is not None:
            results["random_init"] = self.pair_row(initial_state)
        texts = getattr(self.sources[1], "texts", None)
        if self.config.final_baselines and texts is not None:
            from contrastive_jax.evaluate.pair_retrieval import bm25_pair_metrics

            results["bm25"] = bm25_pair_metrics(texts["query"], texts["document"])
        self.last_labels = np.arange(len(self.sources[1]))
        return results

    def sentence_row(self, state) -> dict[str, float]:
        """Held-out sentence -> same-docstring sentence retrieval of ``state``'s encoder
        (``evaluate.pair_retrieval.sentence_group_metrics``: MRR@10, nDCG@10, Recall@1/5/10,
        alignment over same-group pairs, uniformity)."""
        from contrastive_jax.evaluate.pair_retrieval import sentence_group_metrics

        features = self.embed_split(state, "embed", "text", "test")
        if not np.all(np.isfinite(features)):
            return {"mrr@10": float("nan"), "recall@1": float("nan")}
        return {**sentence_group_metrics(features, self.sentence_groups),
                "feature_dim": int(features.shape[1])}

    def online_metrics(self, state) -> dict[str, float]:
        """The metrics of the periodic evaluation: ``knn_accuracy``, for query/document pairs
        the held-out ``mrr@10`` and ``recall@1``, for grouped texts (sentences:stdlib) the
        sentence-similarity proxy's ``mrr@10``, for an unlabelled image-text set the held-out
        retrieval recalls (``i2t_recall@1``, ...), or for a regression source the held-out ridge
        probe's ``probe_mae``."""
        if self.pairs:
            row = self.pair_row(state)
            return {"mrr@10": row["mrr@10"], "recall@1": row["recall@1"]}
        if self.sentence_groups is not None:
            return {"mrr@10": self.sentence_row(state)["mrr@10"]}
        if self.regression:
            features = self.features(state)
            if not features.all_finite("train", "test"):
                return {"probe_mae": float("nan")}
            return {"probe_mae": dict(self.evaluators[0].evaluate(features))["ridge_mae"]}
        if self.labelled:
            return {"knn_accuracy": self.online_knn(state)}
        return self.retrieval(state)

    def retrieval(self, state) -> dict[str, float]:
        """Held-out image<->text Recall@1/5/10 of an unlabelled image-text set, each image's
        own caption the one relevant text; {} for a labelled set or a method without
        ``embed_text``."""
        if self.labelled or state is None or not hasattr(self.method, "embed_text"):
            return {}
        evaluator = evaluate.RetrievalEvaluator(
            self.embed_fn("embed_image"), self.embed_fn("embed_text", "text"),
            image_batches=self.splits["test"], text_batches=self.splits["test"])
        return dict(evaluator.run((state.params, state.model_state)))

    def online_knn(self, state) -> float:
        """Held-out weighted-cosine kNN accuracy of the current encoder (NaN if it diverged)."""
        features = self.features(state)
        if not features.all_finite("train", "test"):
            return float("nan")
        knn = next(e for e in self.evaluators if isinstance(e, evaluate.KnnEvaluator))
        return dict(knn.evaluate(features))["knn"]

    def zero_shot(self, state) -> float | None:
        """Held-out zero-shot accuracy from every caption template of every class, for methods
        with ``embed_text`` on a captions source; None otherwise."""
        if self.prompts is None or not hasattr(self.method, "embed_text"):
            return None
        flat = self.prompts.reshape(-1, self.prompts.shape[-1])
        records = [{"text": tokens, "label": np.int32(0)} for tokens in flat]
        evaluator = evaluate.ZeroShotEvaluator(
            self.embed_fn("embed_image"), self.embed_fn("embed_text", "text"),
            test_batches=self.splits["test"], class_texts=self.prompts,
            text_batches=lambda: make_eval_loader(records, batch_size=self.batch_size))
        return dict(evaluator.run((state.params, state.model_state)))["zero_shot"]

    def order_accuracy(self, state) -> float | None:
        """Held-out fraction of images closer to their caption than to its word-swapped hard
        negative, for methods with ``embed_text`` on a source with negatives
        (``composites:<source>``); None otherwise."""
        if not getattr(self.sources[1], "has_negatives", False) or not hasattr(
                self.method, "embed_text"):
            return None
        evaluator = evaluate.OrderEvaluator(
            self.embed_fn("embed_image"), self.embed_fn("embed_text", "text"),
            self.embed_fn("embed_text", "text_negative"), test_batches=self.splits["test"])
        return dict(evaluator.run((state.params, state.model_state)))["order_accuracy"]

    def _row(self, features, state=None) -> dict:
        if not self.labelled:
            return {**self.retrieval(state), "feature_dim": int(features["test"][0].shape[1])}
        row = evaluate.table_row(self.evaluators, features)
        for name, (labels, evaluators) in self.extra_labels.items():
            relabeled = evaluate.table_row(evaluators, evaluate.RelabeledFeatures(features, labels))
            row.update({f"{name}_{key}": value for key, value in relabeled.items()
                        if key != "feature_dim"})
        zero_shot = None if state is None else self.zero_shot(state)
        row = row if zero_shot is None else {**row, "zero_shot": zero_shot}
        order = None if state is None else self.order_accuracy(state)
        return row if order is None else {**row, "order_accuracy": order}

    def final(self, state, config, *, start_time: float, initial_state=None,
              skipped_steps: int = 0, resumed_from_step: int = 0) -> dict:
        """The summary dict: one row per encoder (learned, learned_projection, random_init,
        raw_pixels, as ``config.eval`` asks), steps, timings. Each split is embedded once per
        row and shared by the row's kNN, probe and diagnostics.

        ``wall_time_s`` and ``skipped_steps`` cover the whole run, every invocation: the loop
        passes the start time less the time stored in the restored checkpoint, and the train
        state's ``skipped_steps``."""
        if self.pairs:
            results = self._pair_results(state, initial_state)
        elif self.sentence_groups is not None:
            results = {"learned": self.sentence_row(state)}
            if self.config.final_baselines and initial_state is not None:
                results["random_init"] = self.sentence_row(initial_state)
            self.last_labels = self.sentence_groups
        else:
            results = self._labelled_results(state, initial_state)
        return self._finish(results, state, config, start_time=start_time,
                            skipped_steps=skipped_steps, resumed_from_step=resumed_from_step)

    def _labelled_results(self, state, initial_state) -> dict:
        """The rows of every other run: kNN / probes (or image-text retrieval) per encoder."""
        learned = self.features(state)
        self.last_features, self.last_labels = learned["test"]
        results = {"learned": self._row(learned, state)}
        if self.config.get("probe_projection", False):
            results["learned_projection"] = self._row(self.features(state, "embed_projection"))
        if self.config.final_baselines:
            if initial_state is not None:
                results["random_init"] = self._row(self.features(initial_state), initial_state)
            if self.labelled:  # raw pixels have no text side to retrieve with
                results[raw_row_name(self.input_keys)] = self._row(
                    self.features(None, "pixels"))
        return results

    def _finish(self, results, state, config, *, start_time, skipped_steps,
                resumed_from_step) -> dict:
        per_example = {}
        if hasattr(self.method, "per_example_arrays"):
            outputs = per_example_outputs(self.method, state.method_state, self.train_source)
            if set(outputs) != {"label"}:  # the method kept per-example state in this run
                self.per_example = outputs
                per_example = {"per_example": self.method.per_example_report(
                    outputs, outputs["label"])}
        return {
            **per_example,
            "method": config.method.name, "dataset": config.dataset.name,
            "encoder": config.encoder.name, "seed": config.seed,
            "steps": int(mesh_lib.to_host(state.step)), "resumed_from_step": resumed_from_step,
            "skipped_steps": skipped_steps,
            "bad_files": sum(len(getattr(source, "bad_files", ())) for source in self.sources),
            "held_out_examples": int(len(self.last_labels)), "knn_k": int(self.config.knn_k),
            "results": results, "warnings": summary_warnings(results, self.config.probe_l2_grid),
            **({} if self.class_counts is None else
               {"train_class_counts": [int(n) for n in self.class_counts]}),
            "wall_time_s": round(time.time() - start_time, 1), "environment": environment(),
        }


def extra_label_evaluators(eval_config, embed_fn, train_source, test_source) -> dict:
    """``{name: ({"train": labels, "test": labels}, [kNN, linear probe])}`` for each second
    label a source declares (``extra_labels`` / ``extra_label_classes``, e.g. a textured
    source's ``texture``): the row gains ``<name>_knn`` and ``<name>_linear_probe``, scored on
    the same features as the main label."""
    train_labels = getattr(train_source, "extra_labels", None) or {}
    test_labels = getattr(test_source, "extra_labels", None) or {}
    classes = getattr(train_source, "extra_label_classes", None) or {}
    plain = {**dict(eval_config.items()), "diagnostics": False, "low_label_shots": ()}
    return {name: ({"train": train_labels[name], "test": test_labels[name]},
                   evaluate.evaluators_from_config(plain, embed_fn, train_batches=None,
                                                   test_batches=None,
                                                   num_classes=int(classes[name])))
            for name in train_labels if name in test_labels and name in classes}


def per_example_outputs(method, method_state, train_source) -> dict[str, np.ndarray]:
    """A method's per-example state (e.g. iSogCLR's temperatures ``tau``), [N] NumPy arrays
    indexed by the training record's position in the source, plus the records' ``label``."""
    from jax.experimental import multihost_utils

    def to_host(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    arrays = method.per_example_arrays(jax.tree.map(to_host, method_state))
    labels = getattr(train_source, "labels", None)
    if labels is None or len(labels) != len(train_source):
        labels = [train_source[i]["label"] for i in range(len(train_source))]
    return {**arrays, "label": np.asarray(labels, np.int32)}


def raw_features(x) -> jax.Array:
    """The raw-input baseline's features: uint8 pixels flattened and scaled to [0, 1]; a float
    input (a dict's first ``"series"`` / value: padded steps are zero) flattened as it is."""
    if isinstance(x, dict):
        x = x["series"] if "series" in x else next(iter(x.values()))
    flat = x.reshape(len(x), -1).astype(jax.numpy.float32)
    return flat / 255.0 if x.dtype == jax.numpy.uint8 else flat


def raw_row_name(input_keys) -> str:
    """The raw-input baseline's row: ``raw_pixels`` for images, ``raw_<key>`` otherwise
    (``raw_series``)."""
    key = input_keys[0] if not isinstance(input_keys, str) else input_keys
    return "raw_pixels" if key == "image" else f"raw_{key}"


def sharded_embed(fn, mesh, input_key: str | tuple[str, ...] = "image",
                  label_key: str = "label"):
    """``fn(model, x: [B, ...]) -> [B, D]`` as ``embed_fn(model, batch) -> (features [B, D],
    labels [B])`` NumPy for the *global* batch: this process's rows ``batch[input_key]`` and
    ``batch["label"]`` become one array sharded over the mesh (``global_batch``), the jitted
    ``fn`` runs on every device's share, and the outputs come back replicated, so every process
    ends with the same features. Several keys reach ``fn`` as ``{key: [B, ...]}``.
    ``label_key``: the record key returned as the labels (``"target"``: regression targets)."""
    keys = (input_key,) if isinstance(input_key, str) else tuple(input_key)
    sharding = mesh_lib.batch_sharding(mesh)
    jitted = jax.jit(lambda model, x, labels: (fn(model, x), labels),
                     out_shardings=mesh_lib.replicated(mesh))

    def embed(model, batch):
        names = ["x"] + [f"x:{k}" for k in keys[1:]]  # the example is "x"
        inputs = mesh_lib.global_batch({**{n: batch[k] for n, k in zip(names, keys)},
                                        "label": batch[label_key]}, sharding)
        x = inputs["x"] if len(keys) == 1 else {k: inputs[n] for n, k in zip(names, keys)}
        return mesh_lib.to_host(jitted(model, x, inputs["label"]))

    return embed
