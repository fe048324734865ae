"""GRACE's node-level InfoNCE against a float64 NumPy reference written from the paper's Eq. 1-2,
gradients, extremes and the 8-device shard_map form."""

import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(u, v, tau, weights=None):
    """``1/(2N) sum_i [l(u_i, v_i) + l(v_i, u_i)]``, negatives times ``weights[i, k]``."""
    u, v = h.unit(u), h.unit(v)
    n = len(u)
    w = np.ones((n, n)) if weights is None else np.asarray(weights, np.float64)

    def l(a, b, i):
        theta = lambda p, q: float(p @ q) / tau
        pos = np.exp(theta(a[i], b[i]))
        neg = sum(w[i, k] * (np.exp(theta(a[i], b[k])) + np.exp(theta(a[i], a[k])))
                  for k in range(n) if k != i)
        return -np.log(pos / (pos + neg))

    return np.mean([(l(u, v, i) + l(v, u, i)) / 2 for i in range(n)])


def test_matches_reference():
    for tau in (0.5, 0.2, 1.0):
        cases = [(h.normal(0, 6, 4), h.normal(1, 6, 4)), (h.normal(2, 3, 8), h.normal(3, 3, 8))]
        h.assert_matches_reference(lambda u, v: losses.grace(u, v, temperature=tau),
                                   lambda u, v: reference(u, v, tau), cases)


def test_is_symmetric_in_the_views_and_permutation_invariant():
    u, v = h.normal(2, 7, 3), h.normal(3, 7, 3)
    fn = lambda a, b: losses.grace(a, b, temperature=0.4)
    h.assert_invariant(fn, (u, v), [(v, u), h.permuted((u, v), (0, 0)),
                                    (h.row_scaled(u, 4), v)])


def test_gradients_float64():
    h.check_grads_x64(lambda a, b: losses.grace(a, b, temperature=0.5),
                      h.normal(4, 5, 3), h.normal(5, 5, 3))


def test_extremes_are_finite():
    fn = lambda a, b: losses.grace(a, b, temperature=0.01)
    h.assert_finite_value_and_grads(fn, (h.normal(6, 2, 4), h.normal(7, 2, 4)),
                                    (h.normal(8, 2, 4), h.normal(9, 2, 4)))
    # tau = 0.01 with well-separated nodes: the value is the float64 reference's
    u = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    h.assert_close(h.run(lambda a, b: losses.grace(a, b, temperature=0.01), u, u + 0.01),
                   reference(u, u + 0.01, 0.01), rtol=1e-4, atol=1e-6)


def test_sharded_matches_full_batch():
    u, v = h.normal(10, 16, 4), h.normal(11, 16, 4)
    h.assert_sharded_matches_full(
        lambda a, b, axis_name=None: losses.grace(a, b, temperature=0.5, axis_name=axis_name),
        (u, v), (P("data"), P("data")))
