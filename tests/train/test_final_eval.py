"""The final table and what a finished run says about itself: the real kNN k, zero-shot accuracy,
a flag on a learned row that is not above its random init, where the results were written, the
environment in summary.json, and the plots' baseline and titles."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import io
import json
import subprocess
import types

import jax
import numpy as np
from flax import nnx
import pytest

from configs import clip, simclr
from contrastive_jax import evaluate, main
from contrastive_jax.data.sources import ArraySource
from contrastive_jax.evaluate import plots
from contrastive_jax.train import build, final_eval, mesh as mesh_lib, outputs
from contrastive_jax.train.state import split_model


GRID = (1e-3, 1e-2, 1e-1)


def summary_with(learned: float, random_init: float, l2: float = 1e-2) -> dict:
    row = lambda probe: {"linear_probe": probe, "linear_probe_l2": l2, "knn": 0.5,
                         "feature_dim": 8}
    results = {"learned": row(learned), "random_init": row(random_init), "raw_pixels": row(0.9)}
    return {"results": results, "knn_k": 5,
            "warnings": final_eval.summary_warnings(results, GRID)}


@pytest.mark.parametrize("learned, random_init, flagged", [
    (0.95, 0.90, False), (0.90, 0.90, True), (0.85, 0.90, True)])
def test_learned_row_not_above_random_init_is_flagged(learned, random_init, flagged):
    summary = summary_with(learned, random_init)
    warnings = final_eval.rows_not_above_random_init(summary["results"])
    table = final_eval.format_table(summary).splitlines()
    assert "kNN (k=5)" in table[0]
    learned_line = next(line for line in table if line.startswith("learned"))
    assert learned_line.endswith(final_eval.NOT_ABOVE_MARK) == flagged
    assert not any(line.startswith("random_init") and "<-" in line for line in table)
    if flagged:
        assert list(warnings) == ["learned"]
        assert table[-1] == (f"warning: learned's linear probe ({100 * learned:.2f}%) is not "
                             f"above the random-init encoder's ({100 * random_init:.2f}%): "
                             "training did not improve on the untrained encoder.")
    else:
        assert warnings == {} and not any(line.startswith("warning") for line in table)


def test_a_probe_l2_at_the_grid_edge_is_warned_about():
    assert summary_with(0.95, 0.9)["warnings"] == []
    table = final_eval.format_table(summary_with(0.95, 0.9, l2=0.1)).splitlines()
    assert table[-3:] == [
        f"warning: {name}'s linear probe chose l2=0.1, the largest value of "
        "eval.probe_l2_grid (0.001, 0.01, 0.1): the best l2 may lie outside it; widen the grid."
        for name in ("learned", "random_init", "raw_pixels")]
    smallest = final_eval.probe_l2_at_grid_edge({"a": {"linear_probe_l2": 1e-3}}, GRID)
    assert "the smallest value" in smallest[0]
    assert final_eval.probe_l2_at_grid_edge({"a": {"linear_probe_l2": 0.1}}, (0.1,)) == []


def test_without_a_probe_the_flag_reads_knn_and_without_random_init_nothing_is_flagged():
    rows = {"learned": {"knn": 0.4, "feature_dim": 8},
            "random_init": {"knn": 0.6, "feature_dim": 8}}
    assert "learned's knn (40.00%)" in final_eval.rows_not_above_random_init(rows)["learned"]
    assert final_eval.rows_not_above_random_init({"learned": rows["learned"]}) == {}


def test_y_limits_keep_a_least_span_inside_bounds():
    # 0.981..0.982 with a 5-point least span: widened about the middle, then shifted below 1.
    low, high = plots.y_limits([0.981, 0.982], min_span=0.05, bounds=(0.0, 1.0))
    assert high == pytest.approx(1.0) and high - low == pytest.approx(0.05 * 1.1)
    low, high = plots.y_limits([0.5, 0.501], baseline=0.4, min_span=0.05, bounds=(0.0, 1.0))
    assert (low, high) == pytest.approx((0.4 - 0.00505, 0.501 + 0.00505))
    assert plots.y_limits([0.2, 0.8], min_span=0.05) == pytest.approx((0.17, 0.83))
    assert plots.y_limits([float("nan")]) == (0.0, 1.0)


@pytest.fixture(scope="module")
def clip_run(tmp_path_factory):
    """A tiny in-process CLIP run with ``eval.knn_k=7``: (workdir, stdout, figures drawn)."""
    workdir = tmp_path_factory.mktemp("clip_tiny")
    config = clip.get_config("scale=tiny")
    config.eval.knn_k = 7
    config.progress_bar = False
    figures = {}
    save = plots._save

    def keep(figure, path):
        figures[path.rsplit("/", 1)[-1]] = figure
        return save(figure, path)

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(plots, "_save", keep)
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            assert main.run(config, str(workdir)) == 0
    finally:
        monkeypatch.undo()
    return workdir, stdout.getvalue(), figures


def test_clip_table_has_the_real_k_zero_shot_and_says_where_it_wrote(clip_run):
    workdir, out, _ = clip_run
    summary = json.loads((workdir / "summary.json").read_text())
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("held-out accuracy"))
    assert "kNN (k=7)" in header and "k=20" not in header and "zero-shot" in header
    assert summary["knn_k"] == 7
    for name in ("learned", "random_init"):
        zero_shot = summary["results"][name]["zero_shot"]
        row = next(line for line in lines if line.startswith(name + " "))
        assert f"{100 * zero_shot:.2f}%" in row.split()[3]
    raw = next(line for line in lines if line.startswith("raw_pixels"))
    assert raw.split()[3] == "-"
    plots_dir = workdir / "plots"
    assert lines[-1] == (f"Wrote {workdir / 'summary.json'}; plots: {plots_dir / 'loss.png'}, "
                         f"{plots_dir / 'embedding.png'}")


def test_summary_records_versions_commit_and_devices(clip_run):
    workdir, _, _ = clip_run
    environment = json.loads((workdir / "summary.json").read_text())["environment"]
    assert environment["versions"] == {
        p: importlib.metadata.version(p) for p in ("jax", "jaxlib", "flax", "optax")}
    git = lambda *a: subprocess.run(["git", *a], cwd=outputs.REPO_ROOT, capture_output=True,
                                    text=True).stdout.strip()
    assert environment["git_commit"] == git("rev-parse", "HEAD")
    assert environment["git_dirty"] == bool(git("status", "--porcelain"))
    assert environment["device_count"] == jax.device_count()
    assert environment["device_kind"] == jax.devices()[0].device_kind


def test_plots_show_the_random_init_baseline_step_and_layer(clip_run):
    workdir, _, figures = clip_run
    summary = json.loads((workdir / "summary.json").read_text())
    knn_axes = next(a for a in figures["loss.png"].axes if a.get_ylabel() == "knn_accuracy")
    random_knn = summary["results"]["random_init"]["knn"]
    flat = [line for line in knn_axes.get_lines() if len(set(line.get_ydata())) == 1
            and line.get_ydata()[0] == pytest.approx(random_knn)]
    assert flat and "random-init" in flat[0].get_label()
    low, high = knn_axes.get_ylim()
    assert high - low >= outputs.KNN_MIN_SPAN and 0.0 <= low and high <= 1.0
    title = figures["embedding.png"].axes[0].get_title()
    assert f"step {summary['steps']}" in title and "encoder features" in title


def test_streamed_sharded_features_equal_the_in_memory_embedding_and_feed_online_knn(
        monkeypatch):
    """On 8 simulated devices: each device embeds its share of every eval batch, and the
    streamed features (and the online kNN on them) equal one in-memory embedding of the split."""
    config = simclr.get_config("scale=tiny,dataset=digits")
    config.eval.batch_size = 36  # rounded up to 40, a multiple of the 8 devices
    parts = build.build_parts(config)
    subset = lambda source, n: ArraySource(source.images[:n], source.labels[:n], source.info)
    parts = dataclasses.replace(parts, train_source=subset(parts.train_source, 100),
                                test_source=subset(parts.test_source, 50))
    mesh = mesh_lib.make_mesh(config.mesh)
    example = {"image": parts.train_source.images[:2]}
    graphdef = split_model(nnx.eval_shape(lambda: parts.method.init(jax.random.key(0),
                                                                    example)[0]))[0]
    params, model_state = jax.jit(  # one compiled init: eager init compiles every op
        lambda key: split_model(parts.method.init(key, example)[0])[1:])(jax.random.key(0))
    state = types.SimpleNamespace(params=params, model_state=model_state)
    evaluation = final_eval.Evaluation(parts, graphdef, config.eval, mesh=mesh)
    assert evaluation.batch_size == 40
    placed = []
    global_batch = mesh_lib.global_batch
    monkeypatch.setattr(mesh_lib, "global_batch",
                        lambda batch, sharding: placed.append(global_batch(batch, sharding))
                        or placed[-1])
    features = evaluation.features(state)
    # the reference: both splits in one in-memory call on one device
    model = nnx.merge(graphdef, params, model_state)
    in_memory = np.asarray(parts.method.embed(model, np.concatenate(
        [parts.train_source.images, parts.test_source.images])))
    np.testing.assert_allclose(np.concatenate([features["train"][0], features["test"][0]]),
                               in_memory, rtol=1e-4, atol=1e-5)
    for split, source in (("train", parts.train_source), ("test", parts.test_source)):
        np.testing.assert_array_equal(features[split][1], source.labels)
    assert len(placed) == 3 + 2  # ceil(100 / 40) + ceil(50 / 40) batches, each placed once
    shards = placed[0]["x"].addressable_shards
    assert len(shards) == 8 and {shard.data.shape[0] for shard in shards} == {5}
    expected = evaluate.knn_accuracy(*features["train"], *features["test"], num_classes=10,
                                     k=config.eval.knn_k)
    assert evaluation.online_knn(state) == pytest.approx(expected)
