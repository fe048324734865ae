"""The TS2Vec method with DBPM: the memory records every pair's loss, the bad-pair statistics
are refreshed from it at each epoch start, and the evaluation encoder is the running average
of the trained weights."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.train import build


@pytest.mark.slow
def test_dbpm_memory_epochs_and_weight_average():
    config = importlib.import_module("configs.ts2vec").get_config("scale=tiny,dbpm=True")
    config.total_steps = 16
    parts = build.build_parts(config)
    method = parts.method
    n, b = len(parts.train_source), config.batch_size
    assert (n, b, method.steps_per_epoch, method.num_epochs) == (67, 8, 8, 2)
    records = [parts.train_source[i] for i in range(n)]
    stack = lambda idx: {k: np.stack([records[i][k] for i in idx]) for k in records[0]}
    model, state = method.init(jax.random.key(0), records[0])
    initial = [jnp.array(x) for x in jax.tree.leaves(nnx.state(model.encoder, nnx.Param))]

    @nnx.jit
    def step(model, state, batch, rng):
        return method.loss(model, state, batch, rng)

    states = [state]
    order = np.random.default_rng(0).permutation(np.tile(np.arange(n), 2))
    for k in range(9):
        _, (metrics, state) = step(model, state, stack(order[k * b:(k + 1) * b]),
                                   jax.random.key(k))
        states.append(state)
    counts = np.asarray(state["counts"])
    assert counts.sum() == 9 * b and int(state["step"]) == 9
    np.testing.assert_array_equal(counts, np.bincount(order[:9 * b], minlength=n))
    # Epoch 1 starts at step 8: the statistics are the memory's after 8 steps, and held.
    means, mu, sigma = losses.memory_statistics(states[8]["sums"], states[8]["counts"])
    np.testing.assert_allclose(state["history"], means, rtol=1e-6)
    np.testing.assert_allclose([state["mu"], state["sigma"]], [mu, sigma], rtol=1e-6)
    np.testing.assert_array_equal(states[8]["history"], states[1]["history"])
    # The evaluation encoder averages the weights each step started from: after weights
    # p, p + 1, p + 2 (set by hand here, no optimizer), the average is p + 1.
    assert int(model.averaged_steps.value) == 9
    model.averaged_steps.value = jnp.zeros((), jnp.int32)
    for shift in range(3):
        for variable, leaf in zip(jax.tree.leaves(nnx.state(model.encoder, nnx.Param),
                                                  is_leaf=lambda v: isinstance(v, nnx.Variable)),
                                  initial):
            variable.value = leaf + shift
        model.update_average()
    for variable, leaf in zip(model.average, initial):
        np.testing.assert_allclose(variable.value, leaf + 1, rtol=1e-6, atol=1e-6)
    x = jnp.asarray(stack(range(4))["series"])
    np.testing.assert_allclose(method.embed(model, {"series": x, "mask": jnp.ones(x.shape[:2],
                                                                                  bool)}),
                               model.eval_encoder()(x), rtol=1e-6)
