"""The train state: a pytree of arrays only (so it shards, donates and checkpoints plainly).

The NNX model is kept as ``nnx.split`` output: the static ``graphdef`` lives outside the state,
``params`` (the ``nnx.Param`` leaves) and ``model_state`` (BatchNorm statistics, ...) inside it,
both as pure (array-only) states.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax.train import mesh as mesh_lib


@flax.struct.dataclass
class TrainState:
    """``step``: optimizer steps taken (int32 scalar), including skipped ones.
    ``skipped_steps``: steps of the whole run (all invocations) whose loss or gradient was not
    finite, so their update was not applied (int32 scalar, counted inside the jitted step so
    the loop need not read every step's metrics)."""

    step: jax.Array
    params: Any
    model_state: Any
    opt_state: Any
    method_state: Any
    skipped_steps: jax.Array


def split_model(model: nnx.Module):
    """``(graphdef, params, model_state)`` with both states as pure array pytrees."""
    graphdef, params, model_state = nnx.split(model, nnx.Param, ...)
    return graphdef, nnx.pure(params), nnx.pure(model_state)


def merge_model(graphdef, params, model_state) -> nnx.Module:
    return nnx.merge(graphdef, params, model_state)


COMPUTE_DTYPES = ("float32", "bfloat16")


def set_compute_dtype(model: nnx.Module, dtype: str) -> None:
    """Mixed precision: every Flax layer of ``model`` (Conv, Linear, BatchNorm, LayerNorm,
    Embed, ...) computes in ``dtype``, casting its input and parameters at each call, while the
    parameters stay stored in their ``param_dtype`` (float32), so gradients and optimizer
    updates are float32. ``dtype`` is a static attribute of the layers, so it lives in the
    ``graphdef`` and every merge of the model computes this way. The losses upcast embeddings
    to float32 before logits and log-sum-exp (``losses._common.as_float32``)."""
    if dtype not in COMPUTE_DTYPES:
        raise ValueError(f"dtype={dtype!r}; valid: {', '.join(COMPUTE_DTYPES)}.")
    if dtype == "float32":
        return
    for _, module in nnx.iter_graph(model):
        if isinstance(module, nnx.Module) and hasattr(module, "param_dtype") and hasattr(module, "dtype"):
            module.dtype = jnp.dtype(dtype)


def init_train_state(method, optimizer, rng: jax.Array, example_batch: dict, *,
                     compute_dtype: str = "float32"):
    """``(graphdef, TrainState)`` at step 0. Pure: call under ``jax.jit`` / ``jax.eval_shape``.
    ``compute_dtype``: the activations' dtype (``set_compute_dtype``)."""
    model, method_state = method.init(rng, example_batch)
    set_compute_dtype(model, compute_dtype)
    graphdef, params, model_state = split_model(model)
    state = TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=model_state,
                       opt_state=optimizer.init(params), method_state=method_state,
                       skipped_steps=jnp.zeros((), jnp.int32))
    return graphdef, state


def count_params(params) -> int:
    return sum(int(x.size) for x in jax.tree.leaves(params))


def plan_train_state(method, optimizer, example: dict, mesh, *, fsdp_min_size: int = 2**14,
                     compute_dtype: str = "float32"):
    """Shapes first, then shardings, then a jitted creator of the state already sharded.

    Leaves of at least ``fsdp_min_size`` elements are sharded over the mesh's ``fsdp`` axis
    (parameters and optimizer moments); everything else is replicated. ``compute_dtype``:
    ``"bfloat16"`` for mixed precision (``set_compute_dtype``).
    example: one record of the source (unbatched). Returns ``(graphdef, abstract_state,
    state_sharding, create)`` where ``abstract_state`` carries the shardings (for restoring) and
    ``create(rng)`` builds the step-0 state directly in its sharded layout.
    """
    example_batch = {k: np.stack([v] * 2) for k, v in example.items()}
    graphdef_box = {}

    def init_fn(rng):
        graphdef, state = init_train_state(method, optimizer, rng, example_batch,
                                           compute_dtype=compute_dtype)
        graphdef_box["graphdef"] = graphdef
        return state

    abstract_state = jax.eval_shape(init_fn, jax.random.key(0))
    state_sharding = mesh_lib.state_shardings(abstract_state, mesh, min_size=fsdp_min_size)
    abstract_state = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract_state,
        state_sharding)
    create = jax.jit(init_fn, out_shardings=state_sharding)
    return graphdef_box["graphdef"], abstract_state, state_sharding, create
