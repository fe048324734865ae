"""``config.dtype=bfloat16``: bfloat16 activations, float32 parameters and loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from configs import simclr
from contrastive_jax.models.convnet import ConvNet
from contrastive_jax.train import build, mesh as mesh_lib
from contrastive_jax.train.optim import make_optimizer
from contrastive_jax.train.state import merge_model, plan_train_state, set_compute_dtype
from contrastive_jax.train.step import make_train_step


def _one_step(dtype):
    config = simclr.get_config("scale=tiny")
    parts = build.build_parts(config)
    mesh = mesh_lib.make_mesh(config.mesh)
    optimizer, schedule = make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, sharding, create = plan_train_state(
        parts.method, optimizer, parts.train_source[0], mesh, compute_dtype=dtype)
    step = make_train_step(graphdef=graphdef, method=parts.method, optimizer=optimizer,
                           schedule=schedule, seed=0, state_sharding=sharding,
                           batch_sharding=mesh_lib.batch_sharding(mesh),
                           metrics_sharding=mesh_lib.replicated(mesh))
    records = [parts.train_source[i] for i in range(config.batch_size)]
    host = {k: np.stack([r[k] for r in records]) for k in records[0]}
    state = create(jax.random.key(0))
    model = merge_model(graphdef, state.params, state.model_state)
    features = model.encoder(jnp.asarray(host["image"], jnp.float32) / 255.0, train=False)
    new_state, metrics = step(state, mesh_lib.global_batch(host, mesh_lib.batch_sharding(mesh)))
    return float(metrics["loss"]), features.dtype, new_state


@pytest.mark.slow  # two compilations of the SimCLR step: minutes on a loaded 2-core CPU
def test_bfloat16_step_matches_float32_within_bfloat16_tolerance():
    loss32, features32, state32 = _one_step("float32")
    loss16, features16, state16 = _one_step("bfloat16")
    assert features32 == jnp.float32 and features16 == jnp.bfloat16  # activations really bf16
    assert np.isfinite(loss16)
    np.testing.assert_allclose(loss16, loss32, rtol=2e-2)
    assert loss16 != loss32  # it did compute differently
    for leaf in jax.tree.leaves(state16.params) + jax.tree.leaves(state16.opt_state):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.float32
    updated16 = np.concatenate([np.ravel(x) for x in jax.tree.leaves(state16.params)])
    updated32 = np.concatenate([np.ravel(x) for x in jax.tree.leaves(state32.params)])
    np.testing.assert_allclose(updated16, updated32, atol=5e-3)


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="valid: float32, bfloat16"):
        set_compute_dtype(None, "float16")


def test_set_compute_dtype_makes_every_layer_compute_in_bfloat16_with_float32_parameters():
    model = ConvNet(in_shape=(8, 8, 1), widths=(4, 8), num_pooled=1, rngs=nnx.Rngs(0))
    x = jax.random.uniform(jax.random.key(1), (4, 8, 8, 1))
    forward = nnx.jit(lambda m, x: m(x, train=True))  # one compilation per dtype, not per op
    reference = forward(model, x)
    set_compute_dtype(model, "float32")  # a no-op
    assert forward(model, x).dtype == jnp.float32
    set_compute_dtype(model, "bfloat16")
    features = forward(model, x)
    assert features.dtype == jnp.bfloat16
    params = jax.tree.leaves(nnx.state(model, nnx.Param))
    assert params and all(p.dtype == jnp.float32 for p in params)
    assert all(s.dtype == jnp.float32 for s in jax.tree.leaves(nnx.state(model, nnx.BatchStat)))
    np.testing.assert_allclose(np.asarray(features, np.float32), reference, rtol=5e-2, atol=5e-2)
