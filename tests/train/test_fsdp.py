"""Mesh-sharded training is exact: one step on (data, fsdp) = (8, 1), (4, 2), (2, 4) gives the
same loss and updated parameters as one device."""

import jax
import ml_collections
import numpy as np

from configs import simclr
from contrastive_jax.data.pipeline import make_train_loader
from contrastive_jax.train import build, mesh as mesh_lib
from contrastive_jax.train.optim import make_optimizer
from contrastive_jax.train.state import plan_train_state
from contrastive_jax.train.step import make_train_step


def test_fsdp_rule():
    assert mesh_lib.fsdp_partition_spec((3, 3, 16, 32), 4, 0) == jax.sharding.PartitionSpec(
        None, None, None, "fsdp")
    assert mesh_lib.fsdp_partition_spec((6, 5), 4, 0) == jax.sharding.PartitionSpec()
    assert mesh_lib.fsdp_partition_spec((64, 64), 2, 10**6) == jax.sharding.PartitionSpec()


def _one_step(config, parts, batch, data, fsdp, devices):
    mesh = mesh_lib.make_mesh(ml_collections.ConfigDict(dict(data=data, fsdp=fsdp)), devices)
    optimizer, schedule = make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, sharding, create = plan_train_state(parts.method, optimizer,
                                                     parts.train_source[0], mesh, fsdp_min_size=1)
    state = create(jax.random.key(0))
    sharded = [s for s in jax.tree.leaves(sharding) if "fsdp" in str(s.spec)]
    assert (len(sharded) > 0) == (fsdp > 1)
    step = make_train_step(graphdef=graphdef, method=parts.method, optimizer=optimizer,
                           schedule=schedule, seed=0, state_sharding=sharding,
                           batch_sharding=mesh_lib.batch_sharding(mesh),
                           metrics_sharding=mesh_lib.replicated(mesh))
    state, metrics = step(state, mesh_lib.global_batch(batch, mesh_lib.batch_sharding(mesh)))
    return float(metrics["loss"]), jax.tree.map(np.asarray, state.params)


def test_sharded_step_equals_single_device():
    config = simclr.get_config("scale=tiny")
    config.optimizer.warmup_steps = 0  # a non-zero first learning rate, so params move
    parts = build.build_parts(config)
    batch = next(iter(make_train_loader(parts.train_source, global_batch_size=32, seed=0)))
    loss_1, params_1 = _one_step(config, parts, batch, 1, 1, jax.devices()[:1])
    for data, fsdp in [(8, 1), (4, 2), (2, 4)]:
        loss, params = _one_step(config, parts, batch, data, fsdp, jax.devices())
        np.testing.assert_allclose(loss, loss_1, rtol=1e-5)
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(params_1)):
            assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b), (data, fsdp)
