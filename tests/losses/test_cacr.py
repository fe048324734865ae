import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def reference(views, tau_pos, tau_neg, alpha=1.0, beta=1.0):
    """CACR from the paper's weights, query by query, in float64."""
    z = h.unit(views)
    v_count, b = z.shape[:2]
    attract = []
    for v in range(v_count):
        for i in range(b):
            d = np.array([np.sum((z[v, i] - z[u, i]) ** 2) for u in range(v_count) if u != v])
            attract.append(np.sum(softmax(tau_pos * d) * alpha * d))
    total = np.mean(attract)
    if b < 2:
        return total
    pairs = []
    for v in range(v_count):
        for u in range(v + 1, v_count):
            per_query = []
            for i in range(b):
                d = np.array([np.sum((z[v, i] - z[u, j]) ** 2) for j in range(b) if j != i])
                per_query.append(np.sum(softmax(-tau_neg * d) * (-beta * d)))
            pairs.append(np.mean(per_query))
    return total + np.mean(pairs)


def test_matches_reference():
    cases = [(h.normal(s, v, b, 5), np.float32(tp), np.float32(tn))
             for s, (v, b, tp, tn) in enumerate([(2, 1, 1.0, 1.0), (2, 2, 1.0, 1.0),
                                                 (2, 7, 1.0, 1.0), (3, 6, 2.0, 0.5),
                                                 (4, 5, 0.5, 3.0)])]
    h.assert_matches_reference(
        lambda z, tp, tn: losses.cacr(z, tau_pos=tp, tau_neg=tn), reference, cases)
    z = h.normal(9, 3, 5, 4)
    h.assert_close(h.run(lambda x: losses.cacr(x, alpha=2.0, beta=0.5), z),
                   reference(z, 1.0, 1.0, 2.0, 0.5))


def test_gradients_float64():
    h.check_grads_x64(lambda z: losses.cacr(z, tau_pos=2.0, tau_neg=0.7), h.normal(0, 3, 4, 5))


def test_invariances():
    z = h.normal(0, 3, 6, 5)
    perm = np.random.default_rng(1).permutation(6)
    variants = [(z[:, perm],), (h.row_scaled(z, 2),)]
    h.assert_invariant(losses.cacr, (z,), variants)


def test_closed_form_two_views():
    # Two views: attraction = mean ||z1 - z2||^2; identical views and orthonormal examples give
    # attraction 0 and every negative at distance 2: repulsion -2 beta.
    z = np.stack([np.eye(4, 6, dtype=np.float32)] * 2)
    h.assert_close(h.run(lambda x: losses.cacr(x, beta=0.5), z), -1.0)


def test_extremes_finite():
    z = h.normal(0, 2, 8, 6)
    got = h.run(lambda x: losses.cacr(x, tau_pos=100.0, tau_neg=100.0), z)
    h.assert_close(got, reference(z, 100.0, 100.0), rtol=1e-4)
    fn = lambda x: losses.cacr(x, tau_pos=100.0, tau_neg=100.0)
    h.assert_finite_value_and_grads(fn, (z[:, :1],), (z[:, :2],))


def test_sharded_matches_full_batch():
    z = h.normal(0, 3, 16, 6)
    h.assert_sharded_matches_full(
        lambda x, axis_name=None: losses.cacr(x, tau_neg=2.0, axis_name=axis_name),
        (z,), (P(None, "data"),))
