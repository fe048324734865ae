"""The experiment harness: sweep definitions, verdicts, the runner, the results files.

Fast tests check every cell's overrides against its config at every scale, every verdict on
hand-made numbers, the runner's failure handling with stand-in commands, and one real tiny
sweep (a SimCLR run plus a broken cell) end to end. The other slugs' tiny sweeps are ``slow``.
"""

import ast
import dataclasses
import importlib
import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

from contrastive_jax.train.build import build_parts, validate_config
from experiments import launch, report, run, spec
from experiments import (amcl_augmentations, cacr_imbalance, dcl_batch_size, dcl_temperature,
                         directpred, graph_sbm, groco_knn, isogclr_imbalance,
                         mcl_feature_suppression, methods_mnist5k, mochi_queue, multiview,
                         mv_dhel_views, negclip_order, projection_head, supremix_regression)

REPO = launch.REPO_ROOT


def config_with_overrides(cell: spec.Cell, scale: str):
    """The config a run of ``cell`` at ``scale`` gets, built in-process: each override is
    parsed from its command-line text as ``--config.<key>=<text>`` parses it (strings bare,
    other types as literals), into a key that must exist, with ConfigDict's type checks."""
    module = importlib.import_module(f"configs.{os.path.basename(cell.config)[:-3]}")
    config = module.get_config(cell.config_arg(scale))
    for key, value in cell.overrides_for(scale).items():
        *parents, leaf = key.split(".")
        node = config
        for parent in parents:
            node = node[parent]
        assert leaf in node, f"{cell.name} ({scale}): {key} is not a key of {cell.config}"
        text = launch.format_value(value)
        node[leaf] = text if isinstance(node[leaf], str) else ast.literal_eval(text)
    return config


@pytest.mark.parametrize("slug", run.SLUGS)
def test_every_cell_builds_a_valid_config_at_every_scale(slug):
    experiment = run.load_experiment(slug)
    assert len({c.name for c in experiment.cells}) == len(experiment.cells)
    for cell in experiment.cells:
        for scale in spec.SCALES:
            if scale not in cell.overrides:
                # A table without a paper scale says why (methods_mnist5k is not a paper's).
                assert scale == "paper" and (slug == "methods_mnist5k"
                                             or experiment.paper_scale_missing)
                continue
            config = config_with_overrides(cell, scale)
            validate_config(config)
            if scale == "tiny" and slug != "methods_mnist5k":
                build_parts(config)  # digits; builds the method, checking its options


def test_methods_table_has_one_row_per_config():
    names = [c.name for c in methods_mnist5k.EXPERIMENT.cells]
    files = sorted(p[:-3] for p in os.listdir(os.path.join(REPO, "configs"))
                   if p.endswith(".py") and p not in ("__init__.py", "common.py")
                   and p[:-3] not in methods_mnist5k.NOT_IMAGES)
    assert sorted(names) == files and methods_mnist5k.NOT_IMAGES == {
        "ts2vec", "grace", "supremix", "l1_regression", "supcon_bins", "dual_encoder",
        "simcse", "esimcse", "debcse", "whitenedcse", "contriever",
        "simcse_codesearch", "esimcse_codesearch", "contriever_codesearch"}
    assert names[:3] == ["simclr", "dcl", "dclw"] and {"clip", "siglip"} <= set(names)
    assert all(c.overrides["small"] == {} for c in methods_mnist5k.EXPERIMENT.cells)


def test_commands_are_the_main_command_with_seed_and_overrides(tmp_path):
    runs = launch.plan_runs(dcl_batch_size.EXPERIMENT, "small", [0, 2], str(tmp_path),
                            cells=["dcl_b64"])
    assert [(r.cell, r.seed) for r in runs] == [("dcl_b64", 0), ("dcl_b64", 2)]
    command = runs[1].command
    assert command[:4] == ("python", "-m", "contrastive_jax.main",
                           "--config=configs/dcl.py:scale=small")
    assert f"--workdir={tmp_path}/dcl_batch_size/dcl_b64/seed2" in command
    assert "--config.seed=2" in command and "--config.batch_size=64" in command
    assert "--config.total_steps=500" in command  # 8 epochs of 4,000 images at B=64
    paper = launch.plan_runs(dcl_batch_size.EXPERIMENT, "paper", [0], str(tmp_path),
                             cells=["dcl_b32"])[0].command
    assert "--config.encoder={'name': 'resnet50'}" in paper
    assert "--config.dataset.name=tfds:imagenet2012" in paper
    with pytest.raises(ValueError, match="unknown cell"):
        launch.plan_runs(dcl_batch_size.EXPERIMENT, "small", [0], str(tmp_path), cells=["x"])


# --- verdicts on hand-made numbers ------------------------------------------------------------

# Per-seed offsets shared by every cell (what pairing by seed cancels) and a small per-cell
# jitter, so a paired difference of ``gap`` has a tight interval around ``gap``.
SEED_SHIFT = (0.010, -0.020, 0.015, -0.005, 0.000)
JITTER = (0.0004, -0.0003, 0.0001, -0.0002, 0.0000)


def seeds_of(base, gap=0.0, jitter=0):
    """Five paired per-seed values: ``base + gap + SEED_SHIFT[s] + (rotated) JITTER[s]``."""
    noise = JITTER[jitter:] + JITTER[:jitter]
    return [base + gap + shift + e for shift, e in zip(SEED_SHIFT, noise)]


def dcl_results(gaps):
    results = {}
    for b, gap in zip(dcl_batch_size.BATCH_SIZES, gaps):
        results[f"ntxent_b{b}"] = {dcl_batch_size.METRIC: seeds_of(0.90)}
        results[f"dcl_b{b}"] = {dcl_batch_size.METRIC: seeds_of(0.90, gap, jitter=1)}
    return results


def test_dcl_verdict():
    outcome, reason, judged = spec.judge_all(dcl_batch_size.verdict,
                                             dcl_results([0.05, 0.03, 0.02, 0.01]))
    assert outcome == "holds" and "B=32: +5.00 [" in reason and len(judged) == 5
    assert [j["outcome"] for j in judged] == ["holds"] * 5
    assert spec.judge(dcl_batch_size.verdict,
                      dcl_results([-0.05, -0.03, -0.02, -0.01]))[0] == "contradicted"
    # Better at every batch size but the gap grows with the batch: the last claim fails.
    outcome, _, judged = spec.judge_all(dcl_batch_size.verdict, dcl_results([0.01, 0.02, 0.03,
                                                                             0.04]))
    assert outcome == "contradicted" and judged[-1]["outcome"] == "contradicted"
    # Gaps within the seed noise of the cells (no pairing benefit): inconclusive.
    noisy = dcl_results([0.0, 0.0, 0.0, 0.0])
    for b in dcl_batch_size.BATCH_SIZES:
        noisy[f"dcl_b{b}"][dcl_batch_size.METRIC] = list(reversed(seeds_of(0.901)))
    assert spec.judge(dcl_batch_size.verdict, noisy)[0] == "inconclusive"
    partial = dcl_results([0.05, 0.03, 0.02, 0.01])
    del partial["dcl_b128"]
    outcome, reason = spec.judge(dcl_batch_size.verdict, partial)
    assert outcome == "incomplete" and "dcl_b128" in reason


def directpred_results(no_predictor_std, direct, linear):
    def cell(std, probe, jitter):
        return {directpred.STD_RATIO: seeds_of(std, jitter=jitter),
                directpred.RANKME: [1.0 + 50 * std] * 5,
                directpred.METRIC: seeds_of(probe, jitter=jitter)}
    return {"byol_no_predictor": cell(no_predictor_std, 0.5, 0),
            "byol_linear_predictor": cell(0.8, linear, 1), "byol_mlp_predictor": cell(0.9, 0.97, 2),
            "directpred": cell(0.85, direct, 3)}


def test_directpred_verdict():
    outcome, reason = spec.judge(directpred.verdict, directpred_results(0.03, 0.96, 0.95))
    assert outcome == "holds" and "RankMe is 2.5" in reason and "+1.00 [" in reason
    assert spec.judge(directpred.verdict,
                      directpred_results(0.7, 0.90, 0.95))[0] == "contradicted"
    assert spec.judge(directpred.verdict,
                      directpred_results(0.03, 0.90, 0.95))[0] == "contradicted"
    assert spec.judge(directpred.verdict,
                      directpred_results(0.03, 0.95, 0.95))[0] == "inconclusive"


def projection_results(gaps):
    return {name: {projection_head.PRE: seeds_of(0.95),
                   projection_head.POST: seeds_of(0.95, -gap, jitter=2)}
            for name, gap in zip(projection_head.HEADS, gaps)}


def test_projection_head_verdict():
    outcome, reason = spec.judge(projection_head.verdict, projection_results([0.1, 0.2, 0.3]))
    assert outcome == "holds" and "+10.00 [" in reason and "3 hold" in reason
    assert spec.judge(projection_head.verdict,
                      projection_results([-0.1, -0.2, -0.3]))[0] == "contradicted"
    assert spec.judge(projection_head.verdict,
                      projection_results([0.1, -0.2, 0.3]))[0] == "contradicted"
    assert spec.judge(projection_head.verdict,
                      projection_results([0.1, 0.0, 0.3]))[0] == "inconclusive"


def multiview_results(view_gain, margin):
    results = {}
    for v in multiview.VIEWS:
        base = 0.90 + view_gain * (v - 2)
        results[f"pairwise_v{v}"] = {multiview.METRIC: seeds_of(base)}
        results[f"mv_infonce_v{v}"] = {multiview.METRIC: seeds_of(base, margin, jitter=v)}
        results[f"mv_dhel_v{v}"] = {multiview.METRIC: seeds_of(base, margin, jitter=v + 1)}
    return results


def test_multiview_verdict():
    outcome, reason = spec.judge(multiview.verdict, multiview_results(0.01, 0.02))
    assert outcome == "holds" and "6 hold" in reason
    assert spec.judge(multiview.verdict, multiview_results(-0.01, -0.02))[0] == "contradicted"
    assert spec.judge(multiview.verdict, multiview_results(-0.01, 0.02))[0] == "contradicted"


def methods_results(margins):
    names = methods_mnist5k.config_names()
    return {name: {methods_mnist5k.LEARNED: seeds_of(0.9, margins.get(name, 0.05), jitter=1),
                   methods_mnist5k.RANDOM: seeds_of(0.9)} for name in names}


def test_methods_verdict_and_random_init_column():
    outcome, reason = spec.judge(methods_mnist5k.verdict, methods_results({}))
    assert outcome == "holds" and f"{len(methods_mnist5k.config_names())} hold" in reason
    partial = {name: row for name, row in methods_results({}).items() if name != "dino"}
    outcome, reason = spec.judge(methods_mnist5k.verdict, partial)  # dino not run: no claim
    assert outcome == "holds" and "dino:" not in reason
    outcome, reason = spec.judge(methods_mnist5k.verdict, methods_results({"byol": -0.02}))
    assert outcome == "contradicted" and "byol: learned - random init: -2.00 [" in reason
    assert spec.judge(methods_mnist5k.verdict, methods_results({"byol": 0.0}))[0] == \
        "inconclusive"
    values = {methods_mnist5k.LEARNED: [0.95, 0.97], methods_mnist5k.RANDOM: [0.90, 0.90]}
    assert methods_mnist5k.beats_random_init(values) == "yes (+6.00)"
    assert methods_mnist5k.beats_random_init({}) == "–"


def temperature_results(ntxent_curve, dcl_curve, dclw_curve):
    """10-shot probe per temperature for each loss (five paired seeds)."""
    results = {}
    for loss, curve in (("ntxent", ntxent_curve), ("dcl", dcl_curve), ("dclw", dclw_curve)):
        for i, (t, value) in enumerate(zip(dcl_temperature.TEMPERATURES, curve)):
            results[dcl_temperature._name(loss, t)] = {
                dcl_temperature.METRIC: seeds_of(value, jitter=i)}
    return results


def test_dcl_temperature_verdict():
    assert [c.name for c in dcl_temperature.EXPERIMENT.cells][:2] == ["ntxent_t0p05",
                                                                       "ntxent_t0p1"]
    steep, flat = (0.60, 0.80, 0.85, 0.70), (0.78, 0.82, 0.83, 0.80)
    outcome, reason, judged = spec.judge_all(dcl_temperature.verdict,
                                             temperature_results(steep, flat, flat))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx([0.2, 0.2],
                                                                               abs=2e-3)
    assert "NT-Xent (SimCLR) 25.00" in reason
    assert spec.judge(dcl_temperature.verdict,
                      temperature_results(flat, steep, steep))[0] == "contradicted"
    assert spec.judge(dcl_temperature.verdict,
                      temperature_results(flat, flat, flat))[0] == "inconclusive"


def test_mv_dhel_views_verdict():
    def results(ranks):
        return {f"mv_dhel_v{v}": {mv_dhel_views.RANK: seeds_of(r, jitter=v)}
                for v, r in zip(mv_dhel_views.VIEWS, ranks)}
    outcome, reason = spec.judge(mv_dhel_views.verdict, results([20, 30, 40, 60, 70]))
    assert outcome == "holds" and "+40.00 [" in reason  # RankMe is not a percentage
    assert spec.judge(mv_dhel_views.verdict, results([60, 50, 40, 30, 20]))[0] == "contradicted"
    assert spec.judge(mv_dhel_views.verdict, results([20, 20, 20, 20, 20]))[0] == "inconclusive"


def test_isogclr_imbalance_verdict():
    def results(gains, correlation):
        cells = {}
        for jitter, (ratio, gain) in enumerate(zip(isogclr_imbalance.RATIOS, gains)):
            metric = isogclr_imbalance.METRIC
            cells[f"sogclr_r{ratio}"] = {metric: seeds_of(0.80, jitter=jitter)}
            cells[f"isogclr_r{ratio}"] = {metric: seeds_of(0.80 + gain, jitter=jitter + 1)}
        cells["isogclr_r50"][isogclr_imbalance.TAU_CORRELATION] = seeds_of(correlation, jitter=4)
        return cells
    outcome, _, judged = spec.judge_all(isogclr_imbalance.verdict,
                                        results([0.0, 0.03, 0.06], 0.5))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx(
        [0.03, 0.06, 0.06, 0.5], abs=3e-3)
    assert not judged[-1]["percent"]  # a correlation, not an accuracy
    # Temperatures that fall with class size contradict the paper's mechanism.
    assert spec.judge(isogclr_imbalance.verdict, results([0.0, 0.03, 0.06], -0.5))[0] == (
        "contradicted")
    assert spec.judge(isogclr_imbalance.verdict, results([0.0, 0.0, 0.0], 0.0))[0] == (
        "inconclusive")
    assert spec.judge(isogclr_imbalance.verdict, {})[0] == "incomplete"


def test_cacr_imbalance_verdict():
    def results(simclr, cacr):
        return {**{f"simclr_r{r}": {cacr_imbalance.METRIC: seeds_of(v, jitter=i)}
                   for i, (r, v) in enumerate(zip(cacr_imbalance.RATIOS, simclr))},
                **{f"cacr_r{r}": {cacr_imbalance.METRIC: seeds_of(v, jitter=i + 1)}
                   for i, (r, v) in enumerate(zip(cacr_imbalance.RATIOS, cacr))}}
    outcome, _, judged = spec.judge_all(cacr_imbalance.verdict,
                                        results([0.90, 0.80, 0.70], [0.90, 0.85, 0.80]))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx(
        [0.05, 0.10, -0.10], abs=3e-3)
    # CACR losing more than SimCLR when the data become long-tailed contradicts the claim.
    assert spec.judge(cacr_imbalance.verdict,
                      results([0.90, 0.85, 0.80], [0.92, 0.80, 0.70]))[0] == "contradicted"


def test_negclip_order_verdict():
    def results(clip, negclip):
        return {"clip": {negclip_order.METRIC: seeds_of(clip)},
                "negclip": {negclip_order.METRIC: seeds_of(negclip, jitter=2)}}
    outcome, _, judged = spec.judge_all(negclip_order.verdict, results(0.55, 0.80))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx(
        [0.25, 0.30], abs=3e-3)
    assert spec.judge(negclip_order.verdict, results(0.80, 0.55))[0] == "contradicted"
    assert spec.judge(negclip_order.verdict, results(0.50, 0.50))[0] in (
        "inconclusive", "contradicted")


def test_amcl_augmentations_verdict():
    def results(crop_gain, multi_gain):
        metric = amcl_augmentations.METRIC
        return {"simclr_crop": {metric: seeds_of(0.70)},
                "amcl_crop": {metric: seeds_of(0.70 + crop_gain, jitter=1)},
                "simclr_multi": {metric: seeds_of(0.80, jitter=2)},
                "amcl_multi": {metric: seeds_of(0.80 + multi_gain, jitter=3)}}
    outcome, _, judged = spec.judge_all(amcl_augmentations.verdict, results(0.02, 0.06))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx(
        [0.02, 0.06, 0.04], abs=3e-3)
    assert spec.judge(amcl_augmentations.verdict, results(0.06, 0.02))[0] == "contradicted"


def test_groco_knn_verdict():
    def results(groco, simclr, byol):
        return {"groco": {groco_knn.METRIC: seeds_of(groco)},
                "simclr": {groco_knn.METRIC: seeds_of(simclr, jitter=1)},
                "byol": {groco_knn.METRIC: seeds_of(byol, jitter=2)}}
    outcome, _, judged = spec.judge_all(groco_knn.verdict, results(0.95, 0.92, 0.90))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx(
        [0.03, 0.05], abs=3e-3)
    assert spec.judge(groco_knn.verdict, results(0.90, 0.95, 0.80))[0] == "contradicted"
    assert spec.judge(groco_knn.verdict, results(0.90, 0.90, 0.90))[0] == "inconclusive"


def test_mcl_feature_suppression_verdict():
    def results(texture_gain, digit_gain):
        digit, texture = mcl_feature_suppression.DIGIT, mcl_feature_suppression.TEXTURE
        return {"simclr": {digit: seeds_of(0.98), texture: seeds_of(0.90, jitter=1)},
                "mcl": {digit: seeds_of(0.98 + digit_gain, jitter=2),
                        texture: seeds_of(0.90 + texture_gain, jitter=3)}}
    outcome, _, judged = spec.judge_all(mcl_feature_suppression.verdict, results(0.05, 0.01))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx(
        [0.05, 0.01], abs=3e-3)
    # Learning the texture at the digit's expense contradicts "without losing the main one".
    assert spec.judge(mcl_feature_suppression.verdict, results(0.05, -0.03))[0] == (
        "contradicted")


def test_supremix_regression_verdict():
    def results(supremix_mae):
        cells = {}
        for jitter, cell in enumerate(supremix_regression.EXPERIMENT.cells):
            base = supremix_mae if cell.name.startswith("supremix_") else 10.0
            cells[cell.name] = {supremix_regression.METRIC: seeds_of(base, jitter=jitter % 5)}
        return cells
    outcome, _, judged = spec.judge_all(supremix_regression.verdict, results(8.0))
    assert outcome == "holds" and len(judged) == 12  # 3 targets x 2 fractions x 2 baselines
    assert all(j["mean"] == pytest.approx(-2.0, abs=3e-3) and not j["percent"]
               for j in judged)  # MAE in the target's units, lower is better
    assert spec.judge(supremix_regression.verdict, results(12.0))[0] == "contradicted"
    command = launch.build_command(supremix_regression.EXPERIMENT.cells[3], "small", 1, "w")
    assert ("--config=configs/supremix.py:dataset=rotated:mnist5k,method=supremix,"
            "train_fraction=0.2,scale=small") in command


def test_flattened_results_carry_the_per_example_report():
    summary = {"steps": 4, "results": {"learned": {"knn": 0.5, "feature_dim": 8}},
               "per_example": {"tau_class_size_spearman": 0.25, "class_size": {"0": 3}}}
    flat = launch.flatten_results(summary)
    assert flat["per_example.tau_class_size_spearman"] == 0.25
    assert flat["learned.knn"] == 0.5 and "per_example.class_size" not in flat


def test_mochi_queue_verdict():
    def results(q256, q1024, q4096, mochi):
        return {"moco_q256": {mochi_queue.METRIC: seeds_of(q256)},
                "moco_q1024": {mochi_queue.METRIC: seeds_of(q1024, jitter=1)},
                "moco_q4096": {mochi_queue.METRIC: seeds_of(q4096, jitter=2)},
                "mochi_q1024": {mochi_queue.METRIC: seeds_of(mochi, jitter=3)}}
    outcome, _, judged = spec.judge_all(mochi_queue.verdict, results(0.90, 0.94, 0.95, 0.97))
    assert outcome == "holds" and [j["mean"] for j in judged] == pytest.approx(
        [0.03, 0.02, 0.03], abs=2e-3)
    # A queue whose gains grow: the diminishing-return difference is contradicted.
    assert spec.judge(mochi_queue.verdict, results(0.90, 0.91, 0.95, 0.97))[0] == "contradicted"
    assert spec.judge(mochi_queue.verdict, results(0.90, 0.94, 0.95, 0.94))[0] == "contradicted"


def test_graph_sbm_verdict():
    def results(grace, raw, grace_nmi, raw_nmi, gcool=None):
        cells = {"grace": {graph_sbm.PROBE: seeds_of(grace), graph_sbm.RAW_PROBE:
                           seeds_of(raw, jitter=1), graph_sbm.NMI: seeds_of(grace_nmi, jitter=2),
                           graph_sbm.RAW_NMI: seeds_of(raw_nmi, jitter=3)}}
        if gcool is not None:
            cells["gcool"] = {graph_sbm.PROBE: seeds_of(gcool, jitter=4),
                              graph_sbm.NMI: seeds_of(grace_nmi, jitter=1)}
        return cells
    outcome, reason, judged = spec.judge_all(graph_sbm.verdict,
                                             results(0.90, 0.67, 0.8, 0.55, gcool=0.92))
    assert outcome == "holds" and len(judged) == 2 and "gcool - grace: probe +2.00 [" in reason
    assert judged[1]["mean"] == pytest.approx(0.25, abs=2e-3) and not judged[1]["percent"]
    assert spec.judge(graph_sbm.verdict, results(0.60, 0.67, 0.8, 0.55))[0] == "contradicted"
    assert spec.judge(graph_sbm.verdict, results(0.90, 0.90, 0.8, 0.55))[0] == "inconclusive"


@pytest.mark.parametrize("slug", run.SLUGS)
def test_every_verdict_reports_its_claimed_differences(slug):
    """No slug may decide on means alone: its verdict returns judged differences."""
    experiment = run.load_experiment(slug)
    path = os.path.join(run.DEFAULT_RESULTS_DIR, f"{slug}.json")
    if not os.path.exists(path):
        pytest.skip(f"{slug} has no published page yet")
    with open(path) as f:
        saved = json.load(f)
    _, _, judged = spec.judge_all(experiment.verdict, report.cell_results(saved["runs"]))
    assert judged, f"{slug}'s verdict returns no claimed differences"


@pytest.mark.parametrize("slug", run.SLUGS)
def test_published_page_re_renders_byte_identical_from_its_json(slug):
    experiment = run.load_experiment(slug)
    base = os.path.join(run.DEFAULT_RESULTS_DIR, slug)
    if not os.path.exists(base + ".json"):
        pytest.skip(f"{slug} has no published page yet")
    with open(base + ".json") as f:
        saved = json.load(f)
    with open(base + ".md") as f:
        page = f.read()
    for field in run.DESCRIPTIVE_FIELDS:  # the JSON describes the sweep as the page does
        assert saved[field] == getattr(experiment, field), f"{field}: run --render_only"
    verdict = report.verdict_of(experiment, saved)
    assert json.dumps(verdict) == json.dumps(saved["verdict"]), "re-judging changed the verdict"
    assert report.render_markdown(experiment, {**saved, "verdict": verdict}) == page
    if verdict["outcome"] == "holds":
        assert all(j["outcome"] == "holds" for j in verdict["differences"])


def test_rendered_page_separates_our_numbers_from_the_papers(tmp_path):
    records = [{"cell": "dcl_b32", "seed": s, "status": "ok", "wall_time_s": 60.0 + s,
                "workdir": f"runs/x/seed{s}", "log": "runs/x/run.log",
                "command": ["python", "-m", "contrastive_jax.main", f"--config.seed={s}"],
                "metrics": {"learned.linear_probe": p, "learned.knn": 0.9}}
               for s, p in enumerate([0.90, 0.92, 0.94])]
    records.append({"cell": "ntxent_b32", "seed": 0, "status": "failed", "error": "boom",
                    "workdir": "w", "log": "w/run.log", "command": ["python"]})
    saved = report.build_report(dcl_batch_size.EXPERIMENT, scale="small", seeds=[0, 1, 2],
                                records=records, device="cpu")
    page = report.render_markdown(dcl_batch_size.EXPERIMENT, saved)
    ours, papers = page.split("## The paper's numbers")
    assert "| `dcl_b32` | DCL | 32 | 92.00 ± 2.00 | 90.00 ± 0.00 | 3 | 61 ± 1 |" in ours
    assert "68.2%" in papers and "68.2%" not in ours
    assert "- `ntxent_b32` seed 0: boom (log: `w/run.log`)" in ours
    assert "python -m experiments.run dcl_batch_size --scale small --seeds 3" in ours
    assert papers.rstrip().endswith(saved["verdict"]["reason"])
    assert saved["verdict"]["outcome"] == "incomplete"
    # With every cell run, the page shows each claimed difference's interval.
    paired_records = [dict(r, cell=f"{loss}_b{b}", seed=s, status="ok",
                           metrics={"learned.linear_probe": p + shift})
                      for loss, shift in (("dcl", 0.01), ("ntxent", 0.0))
                      for b in dcl_batch_size.BATCH_SIZES
                      for s, (r, p) in enumerate(zip(records, [0.90, 0.92, 0.94]))]
    saved = report.build_report(dcl_batch_size.EXPERIMENT, scale="small", seeds=[0, 1, 2],
                                records=paired_records, device="cpu")
    assert saved["verdict"]["differences"] is not None
    page = report.render_markdown(dcl_batch_size.EXPERIMENT, saved)
    assert "| DCL - NT-Xent probe, B=32 | > 0 | 3 | +1.00 | [+1.00, +1.00] |" in page
    assert "Fewer than 5 paired seeds (n = 3)" in page
    assert "accuracies in %" in page and "Fractions (accuracy, MRR) in points" in page


def test_page_without_accuracies_names_no_percent_unit():
    """A table of regression errors only (SupReMix's ridge MAE) says neither "%" nor "points"."""
    cells = [c.name for c in supremix_regression.EXPERIMENT.cells]
    records = [{"cell": cell, "seed": s, "status": "ok", "wall_time_s": 10.0,
                "workdir": f"runs/{cell}/seed{s}", "log": "run.log", "command": ["python"],
                "metrics": {supremix_regression.METRIC: 5.0 + i + 0.1 * s}}
               for i, cell in enumerate(cells) for s in range(3)]
    saved = report.build_report(supremix_regression.EXPERIMENT, scale="small", seeds=[0, 1, 2],
                                records=records, device="cpu")
    page = report.render_markdown(supremix_regression.EXPERIMENT, saved)
    assert "in %" not in page and "in points" not in page
    assert "each metric in the unit its column names" in page


def test_wall_time_column_leaves_out_resumed_runs(tmp_path):
    records = [{"cell": "dcl_b32", "seed": s, "status": "ok", "wall_time_s": wall,
                "resumed_from_step": resumed, "workdir": "w", "log": "w/run.log",
                "command": ["python"], "metrics": {"learned.linear_probe": 0.9}}
               for s, (wall, resumed) in enumerate([(100.0, 0), (120.0, None), (7.0, 250)])]
    saved = report.build_report(dcl_batch_size.EXPERIMENT, scale="small", seeds=[0, 1, 2],
                                records=records, device="cpu")
    page = report.render_markdown(dcl_batch_size.EXPERIMENT, saved)
    assert "| 3 | 110 ± 14 (1 resumed left out) |" in page


# --- the runner -----------------------------------------------------------------------------


def stand_in(tmp_path, cell, code):
    """A Run whose command is ``python -c <code>`` run in the repository root."""
    workdir = str(tmp_path / cell)
    return launch.Run(cell, 0, workdir, ("python", "-c", code.replace("WORKDIR", workdir)))


def test_failing_run_is_reported_and_the_others_continue(tmp_path, capsys):
    summary = {"steps": 5, "wall_time_s": 1.5, "resumed_from_step": 0,
               "results": {"learned": {"knn": 0.5}}}
    write = f"import json; json.dump({summary!r}, open('WORKDIR/summary.json', 'w'))"
    runs = [stand_in(tmp_path, "crashes", "import sys; print('error: it broke'); sys.exit(3)"),
            stand_in(tmp_path, "works", write),
            stand_in(tmp_path, "silent", "pass")]
    records = launch.run_all(runs, parallel=2)
    assert [r["status"] for r in records] == ["failed", "ok", "failed"]
    crashed = records[0]
    assert crashed["returncode"] == 3 and crashed["error"] == "error: it broke"
    assert os.path.exists(crashed["log"]) and "it broke" in open(crashed["log"]).read()
    assert records[1]["metrics"] == {"steps": 5.0, "learned.knn": 0.5}
    assert records[1]["wall_time_s"] == 1.5 and records[1]["resumed_from_step"] == 0
    printed = capsys.readouterr().out
    assert f"FAILED crashes seed 0: error: it broke (log: {crashed['log']})" in printed
    # A finished workdir is not run again; one finished by another command is refused.
    again = launch.run_all(runs[1:2])
    assert again[0]["status"] == "cached" and again[0]["metrics"] == records[1]["metrics"]
    changed = dataclasses.replace(runs[1], command=runs[1].command + ("--other",))
    refused = launch.execute(changed)
    assert refused["status"] == "failed" and "another command" in refused["error"]


def test_keep_saved_keeps_recorded_runs_whose_workdirs_are_gone(tmp_path, monkeypatch):
    experiment, cells = dcl_batch_size.EXPERIMENT, ["dcl_b32", "dcl_b64"]
    old = launch.plan_runs(experiment, "tiny", [0, 1], str(tmp_path / "old_root"), cells)

    def recorded(r, status, probe, **fields):
        return {"cell": r.cell, "seed": r.seed, "workdir": r.workdir, "command": list(r.command),
                "log": "gone/run.log", "status": status, "wall_time_s": 10.0,
                "metrics": {"learned.linear_probe": probe}, **fields}

    other_command = dataclasses.replace(old[1], command=old[1].command + ("--config.seed=9",))
    page = {"slug": experiment.slug, "scale": "tiny", "git_commit": "f00ba12345",
            "created_utc": "2026-01-02", "runs": [
                recorded(old[0], "cached", 0.9),            # kept
                recorded(other_command, "ok", 0.8),         # another command: runs again
                recorded(old[2], "failed", 0.1),            # failed: runs again
                recorded(old[3], "saved", 0.7, saved_from={"git_commit": "abc", "created_utc":
                                                           "2025-12-31"})]}   # kept again
    (tmp_path / f"{experiment.slug}.json").write_text(json.dumps(page))
    launched = []

    def fake_run_all(runs, **kwargs):
        launched.extend((r.cell, r.seed) for r in runs)
        return [recorded(r, "ok", 0.5) for r in runs]

    monkeypatch.setattr(launch, "run_all", fake_run_all)
    new_root = str(tmp_path / "new_root")
    saved = run.run_sweep(experiment, scale="tiny", seeds=[0, 1], runs_root=new_root,
                          results_dir=str(tmp_path), cells=cells, keep_saved=True)
    assert launched == [("dcl_b32", 1), ("dcl_b64", 0)]
    by_key = {(r["cell"], r["seed"]): r for r in saved["runs"]}
    assert [by_key[k]["status"] for k in sorted(by_key)] == ["saved", "ok", "ok", "saved"]
    assert by_key[("dcl_b32", 0)]["saved_from"]["git_commit"] == "f00ba12345"
    assert by_key[("dcl_b64", 1)]["saved_from"]["git_commit"] == "abc"
    assert report.cell_results(saved["runs"])["dcl_b32"]["learned.linear_probe"] == [0.9, 0.5]
    text = (tmp_path / f"{experiment.slug}.md").read_text()
    assert "2 of the 4 runs were kept as recorded in an earlier results page" in text
    assert "commit `abc`, 2025-12-31; commit `f00ba12345`, 2026-01-02" in text
    # Without the flag, or at another scale, nothing is kept.
    launched.clear()
    run.run_sweep(experiment, scale="tiny", seeds=[0, 1], runs_root=new_root,
                  results_dir=str(tmp_path / "fresh"), cells=cells)
    assert len(launched) == 4
    assert run.saved_runs(experiment, "small", str(tmp_path)) == {}


def test_cli_rejects_unknown_slug_and_paperless_scale(tmp_path, capsys):
    assert run.main(["no_such_slug", "--results_dir", str(tmp_path)]) == 2
    assert "valid: dcl_batch_size" in capsys.readouterr().err
    assert run.main(["methods_mnist5k", "--scale", "paper", "--runs_root", str(tmp_path),
                     "--results_dir", str(tmp_path)]) == 2
    assert "no overrides for scale 'paper'" in capsys.readouterr().err


def check_results_files(results_dir, slug, expected_ok):
    """The json holds each run's numbers exactly as its summary.json; the md shows them."""
    with open(os.path.join(results_dir, f"{slug}.json")) as f:
        saved = json.load(f)
    with open(os.path.join(results_dir, f"{slug}.md")) as f:
        page = f.read()
    assert saved["scale"] == "tiny" and saved["seeds"] == [0] and saved["git_commit"]
    assert saved["device"].startswith("cpu")
    assert saved["verdict"]["outcome"] in spec.VERDICTS
    finished = [r for r in saved["runs"] if r["status"] == "ok"]
    assert sorted(r["cell"] for r in finished) == sorted(expected_ok)
    for record in finished:
        with open(os.path.join(REPO, record["workdir"], "summary.json")) as f:
            summary = json.load(f)
        for row, scores in summary["results"].items():
            for key, value in scores.items():
                if isinstance(value, float):
                    assert record["metrics"][f"{row}.{key}"] == value
        assert f"| `{record['cell']}` |" in page
        probe = summary["results"]["learned"].get("linear_probe")  # none for regression
        assert probe is None or f"{100 * probe:.2f}" in page
        assert "--config.seed=0" in record["command"]
        # Each run records what its numbers depend on besides the config.
        environment = record["environment"]
        assert environment == summary["environment"]
        assert environment["versions"] == {
            p: importlib.metadata.version(p) for p in ("jax", "jaxlib", "flax", "optax")}
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
        assert environment["git_commit"] == head and environment["device_count"] == 1
    assert "## The paper's numbers" in page and "## Verdict (from our numbers)" in page
    return saved, page


def test_tiny_sweep_end_to_end_with_a_broken_cell(tmp_path, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)  # children: one CPU device, faster
    head = projection_head.EXPERIMENT.cell("simclr_mlp_head")
    head = dataclasses.replace(head, overrides={
        "tiny": {**head.overrides["tiny"], "eval.diagnostics": True}})
    broken = spec.Cell("broken", "configs/simclr.py", overrides={"tiny": {"no_such_key": 1}})
    experiment = dataclasses.replace(projection_head.EXPERIMENT, cells=(head, broken))
    results_dir, runs_root = str(tmp_path / "results"), str(tmp_path / "runs")
    saved = run.run_sweep(experiment, scale="tiny", seeds=[0], runs_root=runs_root,
                          results_dir=results_dir, parallel=2)
    _, page = check_results_files(results_dir, "projection_head", ["simclr_mlp_head"])
    good, bad = saved["runs"]
    assert good["metrics"]["learned_projection.feature_dim"] == 16  # the projector's output
    assert 1.0 <= good["metrics"]["learned_projection.rankme"] <= 16.0
    assert bad["status"] == "failed" and "no_such_key" in bad["error"]
    assert os.path.exists(os.path.join(REPO, bad["log"])) and bad["log"] in page
    assert saved["verdict"]["outcome"] == "incomplete"  # the other two heads were not run
    log = os.path.join(REPO, good["log"])
    size = os.path.getsize(log)
    again = run.run_sweep(experiment, scale="tiny", seeds=[0], runs_root=runs_root,
                          results_dir=results_dir)
    assert [r["status"] for r in again["runs"]] == ["cached", "failed"]
    assert os.path.getsize(log) == size
    os.remove(os.path.join(results_dir, "projection_head.md"))
    done = subprocess.run([sys.executable, "-m", "experiments.run", "projection_head",
                           "--render_only", "--results_dir", results_dir], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # re-rendered; 1: the saved sweep has a failure
    assert os.path.exists(os.path.join(results_dir, "projection_head.md"))


SLOW_CELLS = {"dcl_batch_size": ["ntxent_b32", "dcl_b32"],
              "directpred": ["byol_no_predictor", "directpred"],
              "projection_head": ["simclr_linear_head"],
              "multiview": ["pairwise_v3", "mv_dhel_v3"],
              "methods_mnist5k": ["clip"],
              "dcl_temperature": ["dclw_t0p05"],
              "mv_dhel_views": ["mv_dhel_v5"],
              "mochi_queue": ["mochi_q1024"],
              "isogclr_imbalance": ["isogclr_r50"],
              "negclip_order": ["negclip"],
              "graph_sbm": ["gcool"],
              "mcl_feature_suppression": ["mcl"],
              "supremix_regression": ["supremix_diabetes_20pct"],
              "ucr_ts2vec": ["italypowerdemand", "gunpoint_dbpm_c20"]}


@pytest.mark.slow
@pytest.mark.parametrize("slug", sorted(SLOW_CELLS))
def test_every_slug_runs_at_tiny_scale(slug, tmp_path, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    results_dir = str(tmp_path / "results")
    done = subprocess.run(
        [sys.executable, "-m", "experiments.run", slug, "--scale", "tiny", "--seeds", "1",
         "--cells", ",".join(SLOW_CELLS[slug]), "--runs_root", str(tmp_path / "runs"),
         "--results_dir", results_dir], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    saved, _ = check_results_files(results_dir, slug, SLOW_CELLS[slug])
    metrics = {r["cell"]: r["metrics"] for r in saved["runs"]}
    if slug == "directpred":
        assert "learned_projection.embedding_std_ratio" in metrics["byol_no_predictor"]
    if slug == "dcl_temperature":
        assert 0.0 <= metrics["dclw_t0p05"]["learned.low_label_probe_5shot"] <= 1.0
    if slug == "mv_dhel_views":
        assert 1.0 <= metrics["mv_dhel_v5"]["learned_projection.rankme"] <= 16.0
    if slug == "isogclr_imbalance":
        assert -1.0 <= metrics["isogclr_r50"][isogclr_imbalance.TAU_CORRELATION] <= 1.0
        assert 0.0 <= metrics["isogclr_r50"]["learned.linear_probe_tail"] <= 1.0
    if slug == "mcl_feature_suppression":
        assert 0.0 <= metrics["mcl"][mcl_feature_suppression.TEXTURE] <= 1.0
    if slug == "supremix_regression":
        assert metrics["supremix_diabetes_20pct"][supremix_regression.METRIC] > 0.0
    if slug == "negclip_order":
        assert 0.0 <= metrics["negclip"][negclip_order.METRIC] <= 1.0
    if slug == "methods_mnist5k":
        assert 0.0 <= metrics["clip"]["learned.zero_shot"] <= 1.0
        assert "random_init.linear_probe" in metrics["clip"]


def _fake_sweep(monkeypatch, tmp_path):
    """Stand-in runs (no training) and device probe, and a copy of the published pages in
    ``tmp_path / "published"`` standing in for experiments/results/; returns that directory."""
    published = tmp_path / "published"
    published.mkdir()
    for suffix in ("json", "md"):
        source = os.path.join(run.DEFAULT_RESULTS_DIR, f"projection_head.{suffix}")
        (published / f"projection_head.{suffix}").write_bytes(open(source, "rb").read())
    monkeypatch.setattr(run, "DEFAULT_RESULTS_DIR", str(published))
    monkeypatch.setattr(report, "device_kind", lambda: "cpu (fake) x1")
    monkeypatch.setattr(launch, "run_all", lambda runs, **kwargs: [
        {"cell": r.cell, "seed": r.seed, "workdir": r.workdir, "command": list(r.command),
         "log": "run.log", "status": "ok", "wall_time_s": 1.0,
         "metrics": {"learned.linear_probe": 0.5, "learned_projection.linear_probe": 0.4}}
        for r in runs])
    return published


def test_a_smoke_sweep_leaves_the_published_pages_alone(tmp_path, monkeypatch, capsys):
    real = {s: open(os.path.join(REPO, "experiments", "results", f"projection_head.{s}"),
                    "rb").read() for s in ("json", "md")}
    published = _fake_sweep(monkeypatch, tmp_path)
    before = {p.name: p.read_bytes() for p in published.iterdir()}
    runs_root = tmp_path / "runs"
    assert run.main(["projection_head", "--scale", "tiny", "--seeds", "1",
                     "--runs_root", str(runs_root)]) == 0
    assert {p.name: p.read_bytes() for p in published.iterdir()} == before
    out = capsys.readouterr().out
    written = runs_root / "results_tiny" / "projection_head.json"
    assert json.loads(written.read_text())["scale"] == "tiny"
    assert f"wrote {runs_root / 'results_tiny' / 'projection_head'}.{{json,md}}" in out
    assert "experiments/results/ was left alone" in out
    # Naming the published directory at a smoke scale is refused, in one line.
    assert run.main(["projection_head", "--scale", "tiny", "--seeds", "1", "--runs_root",
                     str(runs_root), "--results_dir", str(published)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "may not overwrite" in err and "\n" not in err
    assert {p.name: p.read_bytes() for p in published.iterdir()} == before
    # At the published scale the page is written there, as before.
    assert run.main(["projection_head", "--scale", "small", "--seeds", "1",
                     "--runs_root", str(runs_root)]) == 0
    assert json.loads((published / "projection_head.json").read_text())["scale"] == "small"
    assert projection_head.EXPERIMENT.published_scale == "small"
    for suffix, data in real.items():
        assert open(os.path.join(REPO, "experiments", "results", f"projection_head.{suffix}"),
                    "rb").read() == data
