"""The random keys of training, shared by the plain and the GradCache gradient."""

from __future__ import annotations

import jax


def step_rng(seed: int, step: jax.Array) -> jax.Array:
    """The step's key: a function of (seed, step) only, so a resumed run replays it exactly.

    The batch is one global array, so every process derives the same key for it.
    """
    return jax.random.fold_in(jax.random.key(seed), step)
