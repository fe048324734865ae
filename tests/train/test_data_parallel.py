"""Data parallelism is exact: the first step on 8 devices equals the step on 1 device, i.e.
in-batch negatives and BatchNorm statistics are global, not per device."""

import functools

import jax
import numpy as np
from jax.sharding import Mesh

from configs import simclr
from contrastive_jax.data.pipeline import make_train_loader
from contrastive_jax.train import build, mesh as mesh_lib
from contrastive_jax.train.optim import make_optimizer
from contrastive_jax.train.state import plan_train_state
from contrastive_jax.train.step import loss_and_grads


def _first_step(config, parts, batch, devices):
    mesh = Mesh(np.asarray(devices).reshape(len(devices), 1), mesh_lib.MESH_AXES)
    optimizer, _ = make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, state_sharding, create = plan_train_state(
        parts.method, optimizer, parts.train_source[0], mesh)
    state = create(jax.random.key(config.seed))
    sharding = mesh_lib.batch_sharding(mesh)
    step = jax.jit(functools.partial(loss_and_grads, graphdef=graphdef, method=parts.method,
                                     seed=config.seed),
                   in_shardings=(state_sharding, sharding))
    (loss, _), grads = step(state, mesh_lib.global_batch(batch, sharding))
    return float(loss), jax.tree.map(np.asarray, grads)


def _global_norm(tree):
    return np.sqrt(sum(np.sum(np.square(x)) for x in jax.tree.leaves(tree)))


def test_eight_devices_equal_one_device():
    config = simclr.get_config("scale=tiny")
    parts = build.build_parts(config)
    batch = next(iter(make_train_loader(parts.train_source, global_batch_size=config.batch_size,
                                        seed=config.seed)))
    assert len(jax.devices()) == 8
    loss_1, grads_1 = _first_step(config, parts, batch, jax.devices()[:1])
    loss_8, grads_8 = _first_step(config, parts, batch, jax.devices())
    np.testing.assert_allclose(loss_8, loss_1, rtol=1e-5)
    # Relative to the gradient's global norm: a leaf whose gradient is near zero (a bias before
    # a normalization) differs only by float32 summation order, ~1e-7 of the global scale.
    scale = _global_norm(grads_1)
    errors = jax.tree.leaves(jax.tree.map(lambda a, b: np.linalg.norm(a - b) / scale,
                                          grads_8, grads_1))
    assert max(errors) < 1e-5, errors
    assert _global_norm(jax.tree.map(np.subtract, grads_8, grads_1)) < 1e-5 * scale
    # The check can fail: per-device BatchNorm statistics would change these gradients.
    assert min(np.linalg.norm(g) for g in jax.tree.leaves(grads_1)) > 0
