"""Building modules quickly in tests.

Initializing a module eagerly compiles one random-number kernel per parameter shape, which on
XLA:CPU costs seconds (a tiny ResNet-18: ~18 s). Building it once under ``jax.jit`` with LLVM
optimizations off takes ~2 s and gives the same arrays.
"""

import jax
from flax import nnx

FAST_COMPILE = {"xla_backend_optimization_level": 0}


def fast_build(constructor):
    """``constructor()`` (a function returning an NNX module), initialized in one fast jit."""
    graphdef, _ = nnx.split(nnx.eval_shape(constructor))
    init = jax.jit(lambda: nnx.as_pure(nnx.state(constructor())))
    return nnx.merge(graphdef, init.lower().compile(FAST_COMPILE)())


def fast_jit(fn, *args):
    """``fn(*args)`` through ``jax.jit`` compiled with LLVM optimizations off."""
    return jax.jit(fn).lower(*args).compile(FAST_COMPILE)(*args)
