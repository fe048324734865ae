"""The train step: one pure function ``(state, batch) -> (state, metrics)``, jitted with
explicit shardings and the state donated."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from contrastive_jax.train.grad_cache import grad_cache_loss_and_grads
from contrastive_jax.train.rng import step_rng
from contrastive_jax.train.state import TrainState, merge_model, split_model


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def loss_and_grads(state: TrainState, batch: dict, *, graphdef, method, seed: int):
    """``((loss, (metrics, method_state, model_state)), grads)`` for one global batch."""
    rng = step_rng(seed, state.step)

    def loss_fn(params):
        model = merge_model(graphdef, params, state.model_state)
        loss, (metrics, method_state) = method.loss(model, state.method_state, batch, rng)
        _, _, model_state = split_model(model)
        return loss, (metrics, method_state, model_state)

    return jax.value_and_grad(loss_fn, has_aux=True)(state.params)


def train_step(state: TrainState, batch: dict, *, graphdef, method, optimizer,
               schedule, seed: int, compute_grads=loss_and_grads) -> tuple[TrainState, dict]:
    """One optimizer step on a global batch.

    The loss, its gradient and the updates are computed once for the whole (sharded) batch. If
    the loss or any gradient is not finite, the update is not applied (parameters, optimizer,
    model and method state keep their values), ``metrics["finite"]`` is 0 and
    ``state.skipped_steps`` grows by one, so the caller can stop or skip without reading every
    step's metrics. ``state`` is donated by the jitted wrapper (``make_train_step``).
    ``compute_grads`` is ``loss_and_grads`` or the chunked ``grad_cache_loss_and_grads``.
    """
    (loss, (metrics, method_state, model_state)), grads = compute_grads(
        state, batch, graphdef=graphdef, method=method, seed=seed)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    finite = jnp.isfinite(loss) & _all_finite(grads)
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)
    new_state = TrainState(
        step=state.step + 1,
        params=keep(params, state.params),
        model_state=keep(model_state, state.model_state),
        opt_state=keep(opt_state, state.opt_state),
        method_state=keep(method_state, state.method_state),
        skipped_steps=state.skipped_steps + (1 - finite.astype(jnp.int32)),
    )
    metrics = dict(metrics, loss=loss, grad_norm=optax.global_norm(grads),
                   learning_rate=schedule(state.step), finite=finite.astype(jnp.int32))
    return new_state, metrics


def make_train_step(*, graphdef, method, optimizer, schedule, seed: int,
                    state_sharding, batch_sharding, metrics_sharding,
                    grad_cache_chunk_size: int = 0):
    """``train_step`` jitted with explicit in/out shardings; argument 0 (the state) is donated.

    ``grad_cache_chunk_size > 0`` computes the gradient with GradCache in chunks of that many
    encoder inputs (``train.grad_cache``). The step is traced under the batch sharding's mesh
    (``jax.sharding.use_abstract_mesh``), so a loss can run inside ``jax.shard_map`` over it
    (``config.method.cross_device``, ``methods.batch_loss``).
    """
    compute_grads = loss_and_grads
    if grad_cache_chunk_size:
        compute_grads = functools.partial(grad_cache_loss_and_grads,
                                          chunk_size=grad_cache_chunk_size)
    step = functools.partial(train_step, graphdef=graphdef, method=method, optimizer=optimizer,
                             schedule=schedule, seed=seed, compute_grads=compute_grads)
    mesh = getattr(batch_sharding, "mesh", None)  # a NamedSharding's; None: no context

    def step_under_mesh(state, batch):
        if mesh is None:
            return step(state, batch)
        with jax.sharding.use_abstract_mesh(mesh.abstract_mesh):
            return step(state, batch)

    return jax.jit(step_under_mesh, in_shardings=(state_sharding, batch_sharding),
                   out_shardings=(state_sharding, metrics_sharding), donate_argnums=0)
