import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference_sinkhorn(scores, epsilon, iterations):
    """SwAV's algorithm as published: exp, total normalization, alternating rescaling."""
    q = np.exp(np.asarray(scores, np.float64) / epsilon).T  # [K, B]
    k, b = q.shape
    q /= q.sum()
    for _ in range(iterations):
        q /= q.sum(axis=1, keepdims=True)
        q /= k
        q /= q.sum(axis=0, keepdims=True)
        q /= b
    return (q * b).T


def reference_swav(scores, assign_from, temperature, epsilon=0.05, iterations=3):
    v = len(scores)
    total = 0.0
    for c in assign_from:
        q = reference_sinkhorn(scores[c], epsilon, iterations)
        for other in range(v):
            if other != c:
                logits = np.asarray(scores[other], np.float64) / temperature
                log_p = logits - h.log_sum_exp(logits)[:, None]
                total += -np.mean(np.sum(q * log_p, axis=1)) / (v - 1)
    return total / len(assign_from)


def scores(seed, *shape):
    return (0.5 * h.normal(seed, *shape)).astype(np.float32)  # prototype cosines in [-1, 1]


def test_sinkhorn_matches_reference_and_rows_sum_to_one():
    settings = [((1, 3), 0.05, 3), ((2, 4), 0.05, 3), ((8, 5), 0.1, 3), ((8, 5), 0.05, 1)]
    inputs = [scores(i, *shape) for i, (shape, _, _) in enumerate(settings)]
    got = h.run(lambda *ss: [losses.sinkhorn(s, epsilon=e, iterations=n)
                             for s, (_, e, n) in zip(ss, settings)], *inputs)
    for s, (_, epsilon, iterations), q in zip(inputs, settings, got):
        h.assert_close(q, reference_sinkhorn(s, epsilon, iterations), err_msg=(s.shape, iterations))
        h.assert_close(q.sum(axis=1), 1.0)


def test_sinkhorn_equipartitions_prototypes_and_is_stop_gradient():
    s = scores(0, 16, 4)
    q, q0, grad = h.run(lambda x: [losses.sinkhorn(x, epsilon=0.5, iterations=10),
                                   losses.sinkhorn(x, iterations=0),
                                   jax.grad(lambda y: jnp.sum(losses.sinkhorn(y) * x))(x)], s)
    h.assert_close(q.sum(axis=0), 16 / 4, rtol=1e-5)
    logits = s / 0.05
    softmax = np.exp(logits - h.log_sum_exp(logits)[:, None])
    h.assert_close(q0, softmax, atol=1e-7)  # documented: no iteration is a row softmax
    assert np.all(grad == 0)


def test_swav_matches_reference():
    settings = [((2, 1, 3), (0,), 0.1), ((2, 2, 4), (0, 1), 0.1), ((4, 6, 5), (0, 1), 0.1),
                ((3, 6, 5), (1,), 0.5)]
    inputs = [scores(i, *shape) for i, (shape, _, _) in enumerate(settings)]
    got = h.run(lambda *ss: [losses.swav(s, a, temperature=t)
                             for s, (_, a, t) in zip(ss, settings)], *inputs)
    for s, (_, assign_from, t), value in zip(inputs, settings, got):
        h.assert_close(value, reference_swav(s, assign_from, t), err_msg=s.shape)


def test_swav_gradients_float64():
    # Crop 0 is the only target: its scores enter through the stop-gradient codes alone, so
    # they are held fixed and the finite differences run over the predicting crops.
    target = scores(0, 1, 5, 4)
    h.check_grads_x64(
        lambda rest: losses.swav(jnp.concatenate([target.astype(rest.dtype), rest]), (0,)),
        scores(1, 2, 5, 4))


def test_swav_invariances_and_closed_form():
    s = scores(0, 3, 6, 5)
    h.assert_invariant(lambda x: losses.swav(x, (0, 1)), (s,), [h.permuted((s,), (1,))])
    uniform = np.zeros((3, 4, 5), np.float32)
    h.assert_close(h.run(lambda x: losses.swav(x, (0, 1)), uniform), np.log(5))


def test_swav_rejects_bad_crop_indices():
    with pytest.raises(ValueError, match="assign_from"):
        losses.swav(scores(0, 2, 3, 4), (2,))


def test_extremes_float32_and_bfloat16():
    s = scores(0, 3, 2, 6)
    h.assert_finite_value_and_grads(lambda x: losses.swav(x, (0, 1), temperature=0.01),
                                    (s[:, :1],), (s,))


def test_sharded_sinkhorn_and_swav_match_full_batch():
    s = scores(0, 3, 16, 5)
    full = functools.partial(losses.sinkhorn, iterations=3)
    sharded = jax.shard_map(functools.partial(full, axis_name="data"), mesh=h.mesh(),
                            in_specs=P("data"), out_specs=P("data"))
    q_sharded, q_full = h.run(lambda x: [sharded(x), full(x)], s[0])
    h.assert_close(q_sharded, q_full)
    h.assert_sharded_matches_full(
        lambda x, axis_name=None: losses.swav(x, (0, 1), axis_name=axis_name),
        (s,), (P(None, "data"),))
