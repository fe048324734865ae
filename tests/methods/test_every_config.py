"""Every config in configs/ at ``scale=tiny`` trains a few steps through the real train library
(build_parts, plan_train_state, make_train_step) on one CPU device, updates its model and method
state, and survives a checkpoint round trip with identical arrays."""

import glob
import importlib
import os

import jax
import numpy as np
import pytest

from contrastive_jax.train import build, mesh as mesh_lib, optim
from contrastive_jax.train.checkpoint import Checkpointer
from contrastive_jax.train.state import plan_train_state
from contrastive_jax.train.step import make_train_step

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(CONFIG_DIR, "*.py"))
                 if os.path.basename(p) not in ("__init__.py", "common.py"))
NUM_STEPS = 2
# LLVM optimizations off: these tiny programs compile several times faster on CPU.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def first_batches(source, batch_size: int, count: int):
    """``count`` consecutive global batches of the source's first records (NumPy), with each
    record's ``index`` in the source as the train loader gives it. A source shorter than that
    (a graph source holds one graph) wraps around, as the loader's epochs do."""
    records = [{**source[i % len(source)], "index": np.int32(i % len(source))}
               for i in range(batch_size * count)]
    return [{key: np.stack([r[key] for r in records[b * batch_size:(b + 1) * batch_size]])
             for key in records[0]} for b in range(count)]


def leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(tree))]


def changed(before, after) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(leaves(before), leaves(after)))


def test_the_catalog_has_a_config_per_method():
    expected = {"simclr", "dcl", "dclw", "supcon", "moco_v2", "mochi", "moco_v3", "byol",
                "simsiam", "directpred", "swav", "barlow_twins", "vicreg", "wmse", "nnclr",
                "mv_infonce", "mv_dhel", "clip", "siglip"}
    assert expected <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_tiny_config_trains_and_checkpoints(name, tmp_path):
    config = importlib.import_module(f"configs.{name}").get_config("scale=tiny")
    build.validate_config(config)
    parts = build.build_parts(config)
    mesh = mesh_lib.make_mesh(config.mesh, devices=jax.devices()[:1])
    optimizer, schedule = optim.make_optimizer(config.optimizer, config.total_steps)
    graphdef, abstract_state, state_sharding, create = plan_train_state(
        parts.method, optimizer, parts.train_source[0], mesh)
    key = jax.random.key(config.seed)
    state = create.lower(key).compile(FAST_COMPILE)(key)
    initial = jax.device_get(state)  # the step donates the state's buffers

    batch_sharding = mesh_lib.batch_sharding(mesh)
    step = make_train_step(graphdef=graphdef, method=parts.method, optimizer=optimizer,
                           schedule=schedule, seed=config.seed, state_sharding=state_sharding,
                           batch_sharding=batch_sharding,
                           metrics_sharding=mesh_lib.replicated(mesh))
    batches = [mesh_lib.global_batch(b, batch_sharding)
               for b in first_batches(parts.train_source, config.batch_size, NUM_STEPS)]
    step = step.lower(state, batches[0]).compile(FAST_COMPILE)
    for batch in batches:
        state, metrics = step(state, batch)
        metrics = jax.device_get(metrics)
        assert int(metrics["finite"]) == 1 and np.isfinite(metrics["loss"]), metrics

    assert int(state.step) == NUM_STEPS
    assert changed(initial.params, state.params)
    if jax.tree.leaves(initial.model_state):  # none in a text Transformer (LayerNorm only)
        assert changed(initial.model_state, state.model_state)  # BatchNorm running statistics
    # MCL's state changes only between stages, from the loop (tests/methods/test_mcl.py).
    stateful = not hasattr(parts.method, "stage_boundaries")
    for key in initial.method_state if stateful else ():  # targets, queues, pointers, ...
        if jax.tree.leaves(initial.method_state[key]):  # SimCSE pretraining keeps no state
            assert changed(initial.method_state[key], state.method_state[key]), key

    checkpointer = Checkpointer(str(tmp_path / "checkpoints"))
    checkpointer.save(NUM_STEPS, state, {"position": NUM_STEPS})
    restored_step, restored, data_state = checkpointer.restore_latest(abstract_state)
    checkpointer.close()
    assert restored_step == NUM_STEPS and data_state == {"position": NUM_STEPS}
    assert jax.tree.structure(restored) == jax.tree.structure(state)
    for a, b in zip(leaves(state), leaves(restored)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
