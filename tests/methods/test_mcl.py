"""MCL's stages (methods/mcl.py, train/stages.py): the stage change freezes the encoder, refines
every example's pseudo-label with k-means and advances the stage; the loss reads the pseudo-labels
by dataset index; 3 steps across two stage changes on 8 devices equal 1 device; a run restarted
from a checkpoint at and before a stage change ends bitwise equal; the main command writes a
summary whose features concatenate the stages."""

import importlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.sharding import Mesh

from contrastive_jax.data.pipeline import make_train_loader
from contrastive_jax.methods.base import build_encoder
from contrastive_jax.train import build, final_eval, mesh as mesh_lib
from contrastive_jax.train.build import build_method
from contrastive_jax.train.optim import make_optimizer
from contrastive_jax.train.stages import make_stage_hook
from contrastive_jax.train.state import plan_train_state
from contrastive_jax.train.step import make_train_step
from tests.cli import run_main
from tests.losses.test_mcl import reference as mcl_reference
from tests.restart import assert_bitwise_equal, run_and_restart, saved_state, short_run

FAST_COMPILE = {"xla_backend_optimization_level": 0}


def _config(**method):
    config = importlib.import_module("configs.mcl").get_config("dataset=digits,scale=tiny")
    config.encoder = dict(name="mlp", widths=(16,))
    config.augment = dict(name="weak", num_views=2, crop_scale=(0.5, 1.0), flip=True)
    config.method.update(method)
    return config


def _method(num_examples=30, **options):
    config = _config(num_clusters=3, **options)
    config.batch_size = 6
    return build_method(config, image_shape=(8, 8, 1),
                        make_views=lambda rng, images: (images, images[:, :, ::-1]),
                        num_classes=3, num_examples=num_examples)


def test_stages_must_fit_the_run_and_the_training_set_must_be_known():
    with pytest.raises(ValueError, match="num_examples"):
        _method(num_examples=None)
    with pytest.raises(ValueError, match="do not fit total_steps"):
        _method(stages=3, stage_steps=3)  # tiny: 6 steps; stage 3 would start at step 6
    assert _method(stages=3).stage_boundaries() == (2, 4)
    assert _method(stages=2, stage_steps=5).stage_boundaries() == (5,)


def test_begin_stage_freezes_the_encoder_refines_labels_and_embed_concatenates():
    method = _method()
    model, state = method.init(jax.random.key(0), {})
    old = np.arange(30) % 2
    state = {"cluster": jnp.asarray(old, jnp.int32), "stage": jnp.asarray(0, jnp.int32)}
    blob = np.repeat([0, 1, 2], 10)[np.random.default_rng(0).permutation(30)]
    centers = np.array([[5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, 0, 0, 5.0]])
    features = centers[blob] + np.random.default_rng(1).normal(0, 0.1, (30, 4))
    images = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    graphdef, everything = nnx.split(model)

    @jax.jit
    def change(everything, state, features):
        merged = nnx.merge(graphdef, everything)
        before = method.embed(merged, images)
        new_state = method.begin_stage(merged, state, features)
        return before, method.embed(merged, images), new_state, nnx.state(merged)

    before, after, new_state, after_model = change(everything, state, features)
    new = np.asarray(new_state["cluster"])
    assert int(new_state["stage"]) == 1
    np.testing.assert_array_equal(new // 3, old)  # the earlier stages' labels are kept
    for b in range(3):  # k-means separates the three blobs: one label per blob, all distinct
        assert len(set(new[blob == b] % 3)) == 1
    assert len({int(new[blob == b][0] % 3) for b in range(3)}) == 3
    current = np.asarray(nnx.merge(graphdef, everything).encoder(
        images.astype(np.float32) / 127.5 - 1.0, train=False))
    assert before.shape == after.shape == (5, 3 * current.shape[1])
    np.testing.assert_array_equal(before[:, :2 * current.shape[1]], 0.0)  # no stage finished
    np.testing.assert_allclose(after[:, :current.shape[1]], current, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(after[:, current.shape[1]:2 * current.shape[1]], 0.0)
    np.testing.assert_allclose(after[:, 2 * current.shape[1]:], current, rtol=1e-6, atol=1e-6)
    assert int(after_model["stages_done"][...]) == 1


def test_the_loss_restricts_negatives_to_the_pseudo_labels_of_the_batch_rows():
    method = _method(num_examples=20)
    model, _ = method.init(jax.random.key(0), {})
    cluster = jnp.asarray(np.random.default_rng(0).integers(0, 2, 20), jnp.int32)
    index = np.array([3, 17, 0, 9, 12, 5], np.int32)
    batch = {"image": np.random.default_rng(2).integers(0, 256, (6, 8, 8, 1), dtype=np.uint8),
             "index": index}
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    @jax.jit
    def run(params, rest):
        merged = nnx.merge(graphdef, params, rest)
        loss, (metrics, _) = method.loss(merged, {"cluster": cluster, "stage": 1}, batch,
                                         jax.random.key(1))
        merged = nnx.merge(graphdef, params, rest)
        z = method._by_view(method.embed_for_loss(merged, method.encoder_inputs(
            batch, jax.random.key(1))))
        return loss, metrics, z

    loss, metrics, z = run(params, nnx.as_pure(rest))
    ids = np.asarray(cluster)[index]
    np.testing.assert_allclose(float(loss), mcl_reference(np.asarray(z[0]), np.asarray(z[1]), ids,
                                                          method.options.temperature), rtol=1e-5)
    same = ids[:, None] == ids[None, :]
    np.testing.assert_allclose(float(metrics["negatives_per_anchor"]),
                               2 * (same.sum() - 6) / 6)


def _three_steps(config, parts, batches, devices):
    mesh = Mesh(np.asarray(devices).reshape(len(devices), 1), mesh_lib.MESH_AXES)
    optimizer, schedule = make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, state_sharding, create = plan_train_state(
        parts.method, optimizer, parts.train_source[0], mesh)
    key = jax.random.key(config.seed)
    state = create.lower(key).compile(FAST_COMPILE)(key)
    sharding = mesh_lib.batch_sharding(mesh)
    step = make_train_step(graphdef=graphdef, method=parts.method, optimizer=optimizer,
                           schedule=schedule, seed=config.seed, state_sharding=state_sharding,
                           batch_sharding=sharding, metrics_sharding=mesh_lib.replicated(mesh))
    evaluation = final_eval.Evaluation(parts, graphdef, config.eval, mesh=mesh)
    hook = make_stage_hook(parts.method, evaluation, parts.train_source, graphdef=graphdef,
                           state_sharding=state_sharding)
    losses = []
    for number, batch in enumerate(batches, start=1):
        state, metrics = step(state, mesh_lib.global_batch(batch, sharding))
        state = hook(state, number)
        assert int(metrics["finite"]) == 1
        losses.append(float(metrics["loss"]))
    return losses, jax.tree.map(np.asarray, (state.params, state.model_state,
                                             state.method_state))


def test_eight_devices_equal_one_device_over_three_steps_across_two_stage_changes():
    config = _config(stages=3, stage_steps=1, num_clusters=4)
    config.total_steps = 3
    parts = build.build_parts(config)
    parts.train_source.images = parts.train_source.images[:64]  # the stage change embeds it
    parts.train_source.labels = parts.train_source.labels[:64]
    parts.method.num_examples = 64
    loader = iter(make_train_loader(parts.train_source, global_batch_size=config.batch_size,
                                    seed=config.seed))
    batches = [next(loader) for _ in range(3)]
    assert len(jax.devices()) == 8
    losses_1, (params_1, model_1, state_1) = _three_steps(config, parts, batches,
                                                          jax.devices()[:1])
    losses_8, (params_8, model_8, state_8) = _three_steps(config, parts, batches, jax.devices())
    np.testing.assert_allclose(losses_8, losses_1, rtol=2e-5)
    assert int(state_1["stage"]) == int(state_8["stage"]) == 2
    np.testing.assert_array_equal(state_8["cluster"], state_1["cluster"])
    assert len(np.unique(state_1["cluster"])) > 4  # two stages of 4 clusters, joint labels
    for tree_8, tree_1 in ((params_8, params_1), (model_8, model_1)):
        for a, b in zip(jax.tree.leaves(tree_8), jax.tree.leaves(tree_1)):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    assert int(model_1["stages_done"]) == 2


STEPS = 6


def _run_config():
    config = _config(stages=3, num_clusters=4, kmeans_iterations=10)  # stage changes at 2, 4
    return short_run(config, steps=STEPS, checkpoint_every=2)


@pytest.mark.slow
def test_restart_at_a_stage_change_ends_bitwise_equal(tmp_path):
    # Stopped right after the checkpoint of step 2, the first stage change: the next stage
    # change (step 4) happens after the restart.
    uninterrupted, restarted, summary = run_and_restart(_run_config, tmp_path, restart_step=2)
    assert summary["resumed_from_step"] == 2
    at_change = saved_state(uninterrupted, 2)
    assert int(at_change["method_state"]["stage"]) == 1  # saved after the change
    actual = saved_state(restarted, STEPS)
    assert_bitwise_equal(saved_state(uninterrupted, STEPS), actual)
    assert int(actual["method_state"]["stage"]) == 2
    assert len(np.unique(actual["method_state"]["cluster"])) > 4


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["digits", "textured:digits"])
def test_main_writes_a_summary_with_the_stages_concatenated(tmp_path, dataset):
    result = run_main(tmp_path / "run", "--config.eval.final_baselines=False",
                      "--config.eval.plot_embedding=False",
                      config=f"configs/mcl.py:scale=tiny,dataset={dataset}")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    learned = summary["results"]["learned"]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert [row["stage"] for row in rows] == [0, 0, 1, 1, 2, 2]
    config = importlib.import_module("configs.mcl").get_config(f"scale=tiny,dataset={dataset}")
    parts = build.build_parts(config)
    encoder = build_encoder(config.encoder, parts.method.image_shape, nnx.Rngs(0))
    assert learned["feature_dim"] == 3 * encoder.feature_dim  # the three stages' encoders
    assert learned["linear_probe"] > 0.2
