"""Shared checks for the loss tests: closeness, float64 gradient checks, finiteness at extreme
settings, invariances, and equality of the shard_map (8 simulated devices) and full-batch forms.

NumPy float64 references live in each test file, written from the formulas, never calling the
code under test. Several evaluations are batched into one ``jax.jit`` call: on CPU, compiling one
small program is much cheaper than running a loss eagerly op by op on new shapes.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads

NUM_DEVICES = 8


def jit(fn):
    """``jax.jit`` with LLVM optimizations off: these tiny programs compile ~3x faster on CPU."""
    return jax.jit(fn, compiler_options={"xla_backend_optimization_level": 0})


def normal(seed, *shape, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def log_sum_exp(x, axis=-1):
    x = np.asarray(x, np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def log_sigmoid(x):
    return -np.logaddexp(0.0, -np.asarray(x, np.float64))


def assert_close(actual, expected, rtol=1e-5, atol=1e-7, err_msg=""):
    actual = np.asarray(jnp.asarray(actual, jnp.float32), np.float64)
    np.testing.assert_allclose(actual, np.asarray(expected, np.float64), rtol=rtol, atol=atol,
                               err_msg=str(err_msg))


def run(fn, *args):
    """``fn(*args)`` compiled once; every output leaf as a float64 NumPy array."""
    return jax.tree.map(lambda x: np.asarray(jnp.asarray(x, jnp.float32), np.float64),
                        jit(fn)(*args))


def values(fn, cases):
    """``[fn(*case) for case in cases]`` (float32 scalar losses), compiled once."""
    outs = jit(lambda cs: [fn(*c) for c in cs])([tuple(c) for c in cases])
    for out in outs:
        assert out.shape == () and out.dtype == jnp.float32, (out.shape, out.dtype)
    return [np.float64(o) for o in outs]


def assert_matches_reference(fn, reference, cases, rtol=1e-5, atol=1e-7):
    """``fn(*case)`` (float32) equals ``reference(*case)`` (NumPy float64) for every case."""
    for case, value in zip(cases, values(fn, cases)):
        assert_close(value, reference(*case), rtol=rtol, atol=atol,
                     err_msg=[np.shape(a) for a in case])


def assert_invariant(fn, args, variants, rtol=1e-5, atol=1e-6):
    """``fn`` gives the same value on every variant of ``args``."""
    base, *others = values(fn, [args] + list(variants))
    for i, other in enumerate(others):
        assert_close(other, base, rtol=rtol, atol=atol, err_msg=f"variant {i}")


def permuted(args, batch_axes, seed=0):
    """``args`` with one random batch permutation applied along each argument's batch axis."""
    size = np.shape(args[0])[batch_axes[0]]
    perm = np.random.default_rng(seed).permutation(size)
    assert size > 1 and not np.array_equal(perm, np.arange(size))
    return tuple(a if axis is None else np.take(a, perm, axis=axis)
                 for a, axis in zip(args, batch_axes))


def row_scaled(x, seed):
    """``x`` with every embedding (last axis) multiplied by its own positive factor."""
    shape = np.shape(x)[:-1] + (1,)
    return x * np.exp(np.random.default_rng(seed).uniform(-2, 2, shape)).astype(np.float32)


def check_grads_x64(fn, *args):
    """Reverse-mode gradients of ``fn`` agree with finite differences, in float64."""
    with jax.enable_x64(True):
        args64 = tuple(jnp.asarray(np.asarray(a, np.float64)) for a in args)
        f = jax.jit(fn)  # check_grads differentiates it, so no compiler_options here.
        assert f(*args64).dtype == jnp.float64, "the loss must keep float64 inputs in float64"
        check_grads(f, args64, order=1, modes=["rev"])


def assert_finite_value_and_grads(fn, float32_args, bfloat16_args):
    """Finite float32 value and finite gradients (in the input dtype) for both input dtypes.

    One compile for both. Pass different batch sizes (e.g. 1 and 2) to cover both edge cases:
    every loss casts to float32 first, so the dtype and the batch size are independent paths.
    """
    cases = [tuple(jnp.asarray(a, jnp.float32) for a in float32_args),
             tuple(jnp.asarray(a, jnp.bfloat16) for a in bfloat16_args)]
    argnums = tuple(range(len(float32_args)))
    results = jit(lambda cs: [jax.value_and_grad(fn, argnums)(*c) for c in cs])(cases)
    for args, (value, grads) in zip(cases, results):
        label = [(a.shape, a.dtype) for a in args]
        assert value.dtype == jnp.float32, (label, value.dtype)
        assert np.isfinite(np.float32(value)), (label, value)
        for a, g in zip(args, grads):
            assert g.dtype == a.dtype, label
            assert np.all(np.isfinite(np.asarray(g, np.float32))), label


def mesh():
    return jax.make_mesh((NUM_DEVICES,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))


def assert_sharded_matches_full(fn, args, in_specs, argnums=None, rtol=1e-5):
    """``fn(*args, axis_name='data')`` under shard_map equals ``fn(*args)``: value and gradients.

    ``fn`` must accept ``axis_name`` as a keyword. The full-batch gradients must be nonzero so
    that a broken sharded gradient cannot pass by both being zero.
    """
    argnums = tuple(range(len(args))) if argnums is None else tuple(argnums)
    sharded = jax.shard_map(functools.partial(fn, axis_name="data"), mesh=mesh(),
                            in_specs=tuple(in_specs), out_specs=P())

    @jit
    def both(*a):
        return (jax.value_and_grad(sharded, argnums=argnums)(*a),
                jax.value_and_grad(fn, argnums=argnums)(*a))

    (value_s, grads_s), (value_f, grads_f) = both(*args)
    assert_close(value_s, value_f, rtol=rtol)
    for g_s, g_f in zip(grads_s, grads_f):
        g_f = np.asarray(g_f, np.float64)
        scale = np.max(np.abs(g_f))
        assert scale > 0, "full-batch gradient is identically zero"
        assert_close(g_s, g_f, rtol=rtol, atol=1e-5 * scale)
