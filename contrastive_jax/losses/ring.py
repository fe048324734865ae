"""Ring streaming of key blocks across devices for the blockwise kernels (``blockwise.py``).

Inside ``jax.shard_map`` over ``axis_name`` with n devices, device d first folds in its own keys,
then n - 1 times passes the keys it holds to device d + 1 (``jax.lax.ppermute``) and folds in the
keys it receives, which belong to device ``d - step``. Per device that is its own keys plus one
neighbour's at a time: O(N D) memory instead of the O(n N D) of an all-gather, for n - 1
collectives of N D floats each instead of one of n N D.

Whatever is accumulated *per key* (the partial column log-sum-exp in the forward pass, the key
gradient in the backward pass) travels with its keys and takes one last step home to the owner.

Paper: "Ring Attention with Blockwise Transformers for Near-Infinite Context", Liu et al., 2023.
"""

import jax
import jax.numpy as jnp


def varying(tree, axis_name):
    """Every leaf of ``tree`` typed as varying over ``axis_name`` (no-op where it is, or if None).

    ``axis_name`` is one mesh axis or a tuple of them (the ring then runs over their product).

    Loop carries must keep one type across iterations, and a custom VJP must return a
    cotangent of its input's type; the transpose of this cast sums over the axis.
    """
    axes = axis_name if isinstance(axis_name, tuple) else (axis_name,)

    def cast(x):  # a tuple of mesh axes (e.g. ("data", "fsdp")) casts the missing ones only
        types = getattr(jax.typeof(x), "manual_axis_type", None)
        missing = tuple(a for a in axes if types is None or a not in types.varying)
        if not missing:
            return x
        return jax.lax.pcast(x, missing if len(missing) > 1 else missing[0], to="varying")

    return tree if axis_name is None else jax.tree.map(cast, tree)


def match_varying(x, like):
    """``x`` cast to vary over every mesh axis that ``like`` varies over (under ``shard_map``).

    E.g. a replicated bias or queue combined with per-device embeddings in a custom VJP, whose
    cotangent for it is per device (the transpose of the cast sums it over the axes).
    """
    types = getattr(jax.typeof(like), "manual_axis_type", None)
    for axis in () if types is None else sorted(types.varying, key=str):
        x = varying(x, axis)
    return x


def pass_to_next(tree, axis_name):
    """Each device sends ``tree`` to device ``index + 1`` (mod n) and receives its predecessor's."""
    n = jax.lax.axis_size(axis_name)
    perm = [(i, (i + 1) % n) for i in range(n)]
    return jax.tree.map(lambda x: jax.lax.ppermute(x, axis_name, perm), tree)


def ring_forward(sweep, args, blocks, num_keys, state, cfg):
    """``sweep(*args, blocks, num_keys, owner, state) -> (state, col)`` over every device's keys.

    Returns the final row state and, if ``cfg.columns``, the column log-sum-exp of this device's
    own keys over the queries of every device.
    """
    axis = cfg.axis_name
    n, me = jax.lax.axis_size(axis), jax.lax.axis_index(axis)
    state = varying(state, axis)
    state, col = sweep(*args, blocks, num_keys, me, state)
    blocks, col = varying((blocks, col), axis)

    def step(s, carry):
        state, (blocks, col) = carry[0], pass_to_next(carry[1], axis)
        state, new_col = sweep(*args, blocks, num_keys, (me - s) % n, state)
        return state, (blocks, jnp.logaddexp(col, new_col) if cfg.columns else None)

    state, (_, col) = jax.lax.fori_loop(1, n, step, (state, (blocks, col)))
    return state, (pass_to_next(col, axis) if cfg.columns else None)


def ring_backward(sweep, args, blocks, num_keys, rows, cols, accumulators, cfg):
    """``sweep(*args, blocks, num_keys, owner, *rows, col, g_col, dq, dbias) -> (dq, dbias, dk)``
    over every device's keys; ``dk`` of each block travels with it and returns to its owner.
    """
    axis = cfg.axis_name
    n, me = jax.lax.axis_size(axis), jax.lax.axis_index(axis)
    dq, dbias = varying(accumulators, axis)
    dq, dbias, dk = sweep(*args, blocks, num_keys, me, *rows, *cols, dq, dbias)
    blocks, cols, dk = varying((blocks, cols, dk), axis)

    def step(s, carry):
        dq, dbias, travelling = carry
        blocks, cols, dk = pass_to_next(travelling, axis)
        dq, dbias, dk_new = sweep(*args, blocks, num_keys, (me - s) % n, *rows, *cols, dq, dbias)
        return dq, dbias, (blocks, cols, dk + dk_new)

    dq, dbias, (_, _, dk) = jax.lax.fori_loop(1, n, step, (dq, dbias, (blocks, cols, dk)))
    return dq, dbias, pass_to_next(dk, axis)
