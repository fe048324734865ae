"""The state-carrying methods of issue 20: SogCLR / iSogCLR's per-example arrays (indexed by
``batch["index"]``) and DINO's teacher, center and schedules; 3 training steps on 8 devices
equal 3 steps on one device (state included); the temperature report."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.sharding import Mesh
from scipy import stats

from contrastive_jax.data.pipeline import make_train_loader
from contrastive_jax.methods import sogclr as sogclr_method
from contrastive_jax.methods.dino import teacher_temperature
from contrastive_jax.train import build, mesh as mesh_lib
from contrastive_jax.train.build import build_method
from contrastive_jax.train.optim import make_optimizer
from contrastive_jax.train.state import plan_train_state
from contrastive_jax.train.step import make_train_step
from tests.losses.test_sogclr import reference as sogclr_reference

FAST_COMPILE = {"xla_backend_optimization_level": 0}


def test_scatter_keeps_the_last_occurrence_of_a_repeated_index():
    table = jnp.zeros(6)
    index = jnp.array([4, 1, 4, 0, 1])
    out = sogclr_method.scatter_rows(table, index, jnp.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(np.asarray(out), [4.0, 5.0, 0.0, 0.0, 3.0, 0.0])


def _sogclr(name, num_examples=20):
    config = importlib.import_module(f"configs.{name}").get_config("dataset=digits,scale=tiny")
    config.encoder = dict(name="mlp", widths=(16,))
    config.augment = dict(name="none", num_views=2)
    config.batch_size = 6
    return build_method(config, image_shape=(8, 8, 1),
                        make_views=lambda rng, images: (images, images[:, :, ::-1]),
                        num_classes=3, num_examples=num_examples)


def test_sogclr_methods_need_the_training_set_size_and_the_batch_index():
    with pytest.raises(ValueError, match="num_examples"):
        _sogclr("sogclr", num_examples=None)
    batch = {"image": np.zeros((6, 8, 8, 1), np.uint8)}
    with pytest.raises(KeyError, match="index"):  # read first, before the model runs
        _sogclr("sogclr").loss(None, None, batch, jax.random.key(1))


@pytest.mark.parametrize("name", ["sogclr", "isogclr"])
def test_a_step_updates_exactly_the_batch_rows_as_the_algorithm_says(name):
    method = _sogclr(name)
    model, state = method.init(jax.random.key(0), {})
    generator = np.random.default_rng(0)
    index = np.array([3, 17, 0, 9, 12, 5], np.int32)
    batch = {"image": generator.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8), "index": index}
    # Some rows already seen, with their own temperatures.
    state["log_u"] = state["log_u"].at[jnp.array([17, 9, 1])].set(jnp.array([2.0, 3.0, 4.0]))
    if name == "isogclr":
        state["tau"] = state["tau"].at[jnp.array([17, 12])].set(jnp.array([0.3, 0.06]))
        state["tau_grad"] = state["tau_grad"].at[jnp.array([3, 17])].set(jnp.array([0.5, -1.0]))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    @jax.jit
    def step(params, rest, state):
        merged = nnx.merge(graphdef, params, rest)
        loss, (_, new_state) = method.loss(merged, state, batch, jax.random.key(1))
        merged = nnx.merge(graphdef, params, rest)  # the projections the loss saw
        z = method._by_view(method.embed_for_loss(merged, method.encoder_inputs(
            batch, jax.random.key(1))))
        return loss, new_state, z

    loss, new_state, z = step(params, nnx.as_pure(rest), state)
    old = jax.tree.map(np.asarray, state)
    new = jax.tree.map(np.asarray, new_state)
    z = np.asarray(z, np.float64)
    if name == "sogclr":
        want_loss, want_log_u = sogclr_reference(z[0], z[1], old["log_u"][index], 0.1, 0.9)
        want = {"log_u": want_log_u}
    else:
        want_loss, *arrays = sogclr_reference(z[0], z[1], old["log_u"][index], old["tau"][index],
                                              0.9, tau_grad=old["tau_grad"][index])
        want = dict(zip(("log_u", "tau", "tau_grad"), arrays))
    np.testing.assert_allclose(float(loss), want_loss, rtol=1e-5, atol=1e-6)
    others = np.setdiff1d(np.arange(20), index)
    for key, value in want.items():
        np.testing.assert_allclose(new[key][index], value, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(new[key][others], old[key][others])  # untouched


def test_temperature_report_matches_scipy():
    generator = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [50, 20, 5])
    tau = 0.1 + 0.002 * np.bincount(labels)[labels] + generator.normal(0, 0.02, len(labels))
    report = sogclr_method.temperature_report(tau, labels)
    frequency = np.bincount(labels)[labels]
    assert report["class_size"] == {0: 50, 1: 20, 2: 5}
    np.testing.assert_allclose(report["tau_mean_by_class"][2], tau[labels == 2].mean())
    np.testing.assert_allclose(report["tau_class_size_pearson"],
                               stats.pearsonr(tau, frequency)[0], rtol=1e-10)
    np.testing.assert_allclose(report["tau_class_size_spearman"],
                               stats.spearmanr(tau, frequency)[0], rtol=1e-10)
    assert report["tau_class_size_spearman"] > 0.5


def test_dino_teacher_temperature_follows_the_official_linspace_schedule():
    steps = jnp.arange(12)
    got = np.asarray(jax.vmap(lambda k: teacher_temperature(k, start=0.04, end=0.07,
                                                            warmup_steps=5))(steps))
    want = np.concatenate([np.linspace(0.04, 0.07, 5), np.full(7, 0.07)])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(float(teacher_temperature(jnp.asarray(3), start=0.04, end=0.04,
                                                         warmup_steps=0)), 0.04)


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
    global_batches = [mesh_lib.global_batch(b, sharding) for b in batches]
    step = step.lower(state, global_batches[0]).compile(FAST_COMPILE)
    losses = []
    for batch in global_batches:
        state, metrics = step(state, batch)
        assert int(metrics["finite"]) == 1
        losses.append(float(metrics["loss"]))
    return losses, jax.tree.map(np.asarray, (state.params, state.method_state))


@pytest.mark.parametrize("name", ["isogclr", "dino"])
def test_eight_devices_equal_one_device_over_three_steps(name):
    """Params and the method state (per-example u and tau; teacher and center) after 3 steps;
    a repeated example across steps (a 20-example split, batches of 16) reads its updated row."""
    config = importlib.import_module(f"configs.{name}").get_config("dataset=digits,scale=tiny")
    config.total_steps = 3
    # A small MLP and two same-size views keep the two compiles short (multi-crop DINO trains
    # in tests/methods/test_every_config.py).
    config.encoder = dict(name="mlp", widths=(32,))
    config.augment = dict(name="weak", num_views=2, crop_scale=(0.5, 1.0), flip=True)
    parts = build.build_parts(config)
    if name == "isogclr":
        parts.train_source.images = parts.train_source.images[:20]  # revisit examples
        parts.train_source.labels = parts.train_source.labels[:20]
        parts.method.num_examples = 20
    loader = iter(make_train_loader(parts.train_source, global_batch_size=config.batch_size,
                                    seed=config.seed))
    batches = [next(loader) for _ in range(3)]
    assert len(jax.devices()) == 8
    losses_1, (params_1, state_1) = _three_steps(config, parts, batches, jax.devices()[:1])
    losses_8, (params_8, state_8) = _three_steps(config, parts, batches, jax.devices())
    np.testing.assert_allclose(losses_8, losses_1, rtol=2e-5)
    scale = np.sqrt(sum(np.sum(np.square(x)) for x in jax.tree.leaves(params_1)))
    for a, b in zip(jax.tree.leaves(params_8), jax.tree.leaves(params_1)):
        assert np.linalg.norm(a - b) < 1e-5 * scale
    for key in state_1:
        for a, b in zip(jax.tree.leaves(state_8[key]), jax.tree.leaves(state_1[key])):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6, err_msg=key)
    if name == "isogclr":
        seen = np.isfinite(state_1["log_u"])
        assert seen.all()  # 48 rows over 20 examples: each visited, some twice
        assert not np.allclose(state_1["tau"], config.method.temperature)
