"""GradCache gives the full-batch gradient exactly, one chunk of activations at a time."""

import functools

import jax
import ml_collections
import numpy as np
import pytest

from configs import simclr
from contrastive_jax.data.pipeline import make_train_loader
from contrastive_jax.train import build, mesh as mesh_lib
from contrastive_jax.train.grad_cache import check_grad_cache, grad_cache_loss_and_grads
from contrastive_jax.train.optim import make_optimizer
from contrastive_jax.train.state import plan_train_state
from contrastive_jax.train.step import loss_and_grads, make_train_step


def _setup():
    config = simclr.get_config("scale=tiny")
    config.encoder.norm = "none"  # no batch-coupled layers: chunking is then exact
    config.method.proj_norm = "none"
    config.optimizer = ml_collections.ConfigDict(dict(
        name="sgd", learning_rate=0.5, warmup_steps=0, momentum=0.0, weight_decay=0.0))
    parts = build.build_parts(config)
    mesh = mesh_lib.make_mesh(ml_collections.ConfigDict(dict(data=1, fsdp=1)), jax.devices()[:1])
    optimizer, schedule = make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, sharding, create = plan_train_state(parts.method, optimizer,
                                                     parts.train_source[0], mesh)
    batch = next(iter(make_train_loader(parts.train_source, global_batch_size=32, seed=0)))
    batch = mesh_lib.global_batch(batch, mesh_lib.batch_sharding(mesh))
    return config, parts, mesh, optimizer, schedule, graphdef, sharding, create, batch


def _close(a, b, rtol):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) <= rtol * np.linalg.norm(np.asarray(b))


def test_grad_cache_equals_full_batch_gradient_and_step():
    config, parts, mesh, optimizer, schedule, graphdef, sharding, create, batch = _setup()
    state = create(jax.random.key(0))
    full = jax.jit(functools.partial(loss_and_grads, graphdef=graphdef, method=parts.method,
                                     seed=0))
    cached = jax.jit(functools.partial(grad_cache_loss_and_grads, graphdef=graphdef,
                                       method=parts.method, seed=0, chunk_size=8))
    (loss_full, _), grads_full = full(state, batch)
    (loss_cached, _), grads_cached = cached(state, batch)
    np.testing.assert_allclose(float(loss_cached), float(loss_full), rtol=1e-6)
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: _close(a, b, 1e-5),
                                            grads_cached, grads_full)))

    after = {}
    for chunk in (0, 8):
        step = make_train_step(graphdef=graphdef, method=parts.method, optimizer=optimizer,
                               schedule=schedule, seed=0, state_sharding=sharding,
                               batch_sharding=mesh_lib.batch_sharding(mesh),
                               metrics_sharding=mesh_lib.replicated(mesh),
                               grad_cache_chunk_size=chunk)
        after[chunk] = step(create(jax.random.key(0)), batch)[0].params
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: not np.allclose(a, b), after[0],
                                         create(jax.random.key(0)).params))
    assert any(moved)
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: _close(a, b, 1e-5), after[8], after[0])))


def test_grad_cache_config_errors():
    config, parts, *_ = _setup()
    with pytest.raises(ValueError, match="positive divisor of batch_size=32"):
        check_grad_cache(parts.method, 7, 32)

    class NoHooks:
        pass

    with pytest.raises(ValueError, match="not available for method NoHooks"):
        check_grad_cache(NoHooks(), 8, 32)
