"""gCooL's community-reweighted node contrast against a float64 NumPy reference, its limits
(gamma = 0 is GRACE), gradients, extremes and the 8-device shard_map form."""

import jax
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h
from tests.losses.test_grace import reference


def communities(seed, n, k, soft=False):
    rng = np.random.default_rng(seed)
    if soft:
        return np.asarray(jax.nn.softmax(rng.standard_normal((n, k)) * 2), np.float32)
    return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


def test_matches_reference():
    for seed, soft, gamma, tau in ((0, False, 1.0, 0.5), (1, True, 2.0, 0.3), (2, False, 5.0, 1.0)):
        u, v, r = h.normal(seed, 6, 4), h.normal(seed + 10, 6, 4), communities(seed, 6, 3, soft)
        r64 = np.asarray(r, np.float64)
        expected = reference(u, v, tau, weights=np.exp(-gamma * r64 @ r64.T))
        value = h.run(lambda a, b, c: losses.gcool(a, b, c, temperature=tau, gamma=gamma), u, v, r)
        h.assert_close(value, expected, rtol=1e-5)


def test_gamma_zero_is_grace_and_same_community_negatives_weigh_less():
    u, v, r = h.normal(3, 8, 4), h.normal(4, 8, 4), communities(3, 8, 2)
    gcool0, gcool1, grace = h.run(lambda a, b, c: (
        losses.gcool(a, b, c, temperature=0.5, gamma=0.0),
        losses.gcool(a, b, c, temperature=0.5, gamma=1.0),
        losses.grace(a, b, temperature=0.5)), u, v, r)
    h.assert_close(gcool0, grace, rtol=1e-6)
    assert gcool1 < grace


def test_gradients_float64_and_none_through_the_communities():
    r = communities(5, 5, 2, soft=True)
    h.check_grads_x64(lambda a, b: losses.gcool(a, b, r, temperature=0.5),
                      h.normal(5, 5, 3), h.normal(6, 5, 3))
    grad_r = h.jit(jax.grad(lambda c: losses.gcool(h.normal(5, 5, 3), h.normal(6, 5, 3), c)))(r)
    assert not np.any(np.asarray(grad_r))


def test_extremes_are_finite():
    r1, r2 = communities(7, 2, 2), communities(8, 2, 2)
    fn = lambda a, b: losses.gcool(a, b, r1, temperature=0.01, gamma=3.0)
    h.assert_finite_value_and_grads(fn, (h.normal(6, 2, 4), h.normal(7, 2, 4)),
                                    (h.normal(8, 2, 4), h.normal(9, 2, 4)))
    u = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    expected = reference(u, u + 0.01, 0.01, weights=np.exp(-3.0 * r2 @ r2.T))
    value = h.run(lambda a, b, c: losses.gcool(a, b, c, temperature=0.01, gamma=3.0),
                  u, u + 0.01, r2)
    h.assert_close(value, expected, rtol=1e-4, atol=1e-6)


def test_sharded_matches_full_batch():
    u, v, r = h.normal(10, 16, 4), h.normal(11, 16, 4), communities(12, 16, 3, soft=True)
    h.assert_sharded_matches_full(
        lambda a, b, c, axis_name=None: losses.gcool(a, b, c, temperature=0.5, gamma=1.5,
                                                     axis_name=axis_name),
        (u, v, r), (P("data"), P("data"), P("data")), argnums=(0, 1))
