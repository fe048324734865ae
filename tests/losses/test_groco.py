import math

import importlib

import jax
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h

groco_module = importlib.import_module("contrastive_jax.losses.groco")


def relaxed_odd_even(x, steepness, relaxation="cauchy"):
    """Relaxed odd-even transposition sort of one vector; P[a, r]: input a at rank r."""
    x = np.asarray(x, np.float64).copy()
    n = len(x)
    perm = np.eye(n)
    for layer in range(n):
        for i in range(layer % 2, n - 1, 2):
            a, b = x[i], x[i + 1]
            v = steepness * (b - a)
            p = math.atan(v) / math.pi + 0.5 if relaxation == "cauchy" else 1 / (1 + math.exp(-v))
            x[i], x[i + 1] = p * a + (1 - p) * b, (1 - p) * a + p * b
            ci, cj = perm[:, i].copy(), perm[:, i + 1].copy()
            perm[:, i], perm[:, i + 1] = p * ci + (1 - p) * cj, (1 - p) * ci + p * cj
    return x, perm


def relaxed_bitonic(x, steepness, relaxation="cauchy"):
    """Batcher's bitonic network on m = 2^ceil(log2 n) wires, the first m - n holding -inf (a
    comparator with a -inf input is exact); P[a, r]: input a at rank r, over the n inputs."""
    n = len(x)
    m = 1
    while m < n:
        m *= 2
    x = np.concatenate([np.full(m - n, -np.inf), np.asarray(x, np.float64)])
    perm = np.eye(m)
    size = 2
    while size <= m:
        distance = size // 2
        while distance >= 1:
            for i in range(m):
                j = i ^ distance
                if j < i:
                    continue
                lo, hi = (i, j) if i & size == 0 else (j, i)  # lo receives the minimum
                a, b = x[lo], x[hi]
                if np.isinf(a) or np.isinf(b):
                    p = 1.0 if np.isinf(a) else 0.0  # -inf is the smaller
                else:
                    v = steepness * (b - a)
                    p = (math.atan(v) / math.pi + 0.5 if relaxation == "cauchy"
                         else 1 / (1 + math.exp(-v)))
                if p in (0.0, 1.0):
                    x[lo], x[hi] = (a, b) if p == 1.0 else (b, a)
                else:
                    x[lo], x[hi] = p * a + (1 - p) * b, (1 - p) * a + p * b
                c_lo, c_hi = perm[:, lo].copy(), perm[:, hi].copy()
                perm[:, lo], perm[:, hi] = p * c_lo + (1 - p) * c_hi, (1 - p) * c_lo + p * c_hi
            distance //= 2
        size *= 2
    return x[m - n:], perm[m - n:, m - n:]


def bce(p, y):
    log = lambda q: max(math.log(q), -100.0) if q > 0 else -100.0
    return -(y * log(p) + (1 - y) * log(1 - p))


def reference(views, k, steepness, relaxation="cauchy", network="odd_even"):
    """GroCo from the paper's recipe, anchor by anchor, in float64."""
    z = h.unit(views)
    v_count, b = z.shape[:2]
    k = min(k, b - 1)
    if k == 0:
        return 0.0
    per_anchor = []
    for v in range(v_count):
        for i in range(b):
            pos = sorted(z[v, i] @ z[u, i] for u in range(v_count) if u != v)
            neg = sorted(z[v, i] @ z[v, j] for j in range(b) if j != i)[-k:]
            sort = relaxed_bitonic if network == "bitonic" else relaxed_odd_even
            _, perm = sort(neg + pos, steepness, relaxation)
            n = len(neg) + len(pos)
            terms = []
            for a in range(n):
                is_neg = float(a < k)
                bottom = min(max(perm[a, :k].sum(), 0.0), 1.0)
                top = min(max(perm[a, k:].sum(), 0.0), 1.0)
                terms.append((bce(top, 1 - is_neg) + bce(bottom, is_neg)) / 2)
            per_anchor.append(np.mean(terms))
    return np.mean(per_anchor)


def test_sorting_network_sorts_and_is_doubly_stochastic():
    x = np.random.default_rng(0).permutation(7).astype(np.float32)[None]
    hard_sorted, hard_perm = h.run(
        lambda a: groco_module.odd_even_sort(a, steepness=1e4), x)
    np.testing.assert_allclose(hard_sorted[0], np.sort(x[0]), atol=1e-3)
    np.testing.assert_allclose(hard_perm[0], np.eye(7)[np.argsort(np.argsort(x[0]))], atol=1e-3)
    soft_sorted, soft_perm = h.run(lambda a: groco_module.odd_even_sort(a, steepness=0.5), x)
    np.testing.assert_allclose(soft_perm[0].sum(0), 1, atol=1e-5)
    np.testing.assert_allclose(soft_perm[0].sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(soft_sorted[0], x[0] @ soft_perm[0], atol=1e-4)
    ref_sorted, ref_perm = relaxed_odd_even(x[0], 0.5)
    np.testing.assert_allclose(soft_perm[0], ref_perm, atol=1e-5)
    np.testing.assert_allclose(soft_sorted[0], ref_sorted, atol=1e-5)


def test_matches_reference():
    cases = [(h.normal(s, v, b, 5), np.float32(st))
             for s, (v, b, st) in enumerate([(2, 1, 1.0), (2, 2, 1.0), (2, 7, 1.0),
                                             (3, 6, 5.0), (2, 16, 2.0)])]
    for k in (3, 10):
        h.assert_matches_reference(
            lambda z, st: losses.groco(z, num_negatives=k, steepness=st),
            lambda z, st: reference(z, k, st), cases)
    z = h.normal(9, 2, 6, 4)
    h.assert_close(h.run(lambda x: losses.groco(x, num_negatives=4, relaxation="logistic"), z),
                   reference(z, 4, 1.0, "logistic"))


def test_gradients_float64_and_stop_gradient():
    z = h.normal(0, 2, 5, 4)
    # Finite differences see every path, so only the form without stop-gradient is checked.
    h.check_grads_x64(lambda x: losses.groco(x, num_negatives=3, steepness=3.0,
                                             stop_gradient=False), z)
    # stop_gradient changes the gradient, not the value.
    (v_stop, g_stop), (v_full, g_full) = h.run(
        lambda x: [jax.value_and_grad(lambda y: losses.groco(y, num_negatives=3))(x),
                   jax.value_and_grad(lambda y: losses.groco(
                       y, num_negatives=3, stop_gradient=False))(x)], z)
    h.assert_close(v_stop, v_full)
    assert not np.allclose(g_stop, g_full)


def test_invariances():
    z = h.normal(0, 2, 8, 5)
    perm = np.random.default_rng(1).permutation(8)
    h.assert_invariant(lambda x: losses.groco(x, num_negatives=4), (z,),
                       [(z[:, perm],), (h.row_scaled(z, 2),), (z[::-1],)])


def test_well_ordered_groups_give_a_lower_loss():
    # Positives identical to the anchor (cos 1) above every negative: lower than reversed order.
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 8)).astype(np.float32)
    good = np.stack([base, base])
    bad = np.stack([base, -base])
    v_good, v_bad = h.run(lambda a, c: [losses.groco(a, num_negatives=3, steepness=10.0),
                                        losses.groco(c, num_negatives=3, steepness=10.0)],
                          good, bad)
    assert v_good < v_bad


def test_extremes_finite():
    z = h.normal(0, 2, 8, 6)
    fn = lambda x: losses.groco(x, steepness=100.0, stop_gradient=False)
    h.assert_close(h.run(fn, z), reference(z, 10, 100.0), rtol=1e-4)
    h.assert_finite_value_and_grads(fn, (z[:, :1],), (z[:, :2],))


def test_sharded_matches_full_batch():
    z = h.normal(0, 2, 16, 6)
    h.assert_sharded_matches_full(
        lambda x, axis_name=None: losses.groco(x, num_negatives=5, steepness=4.0,
                                               axis_name=axis_name),
        (z,), (P(None, "data"),))


def test_bitonic_network_sorts_like_np_sort_and_is_doubly_stochastic():
    for n in (2, 5, 8, 11):  # powers of two and padded sizes
        x = np.random.default_rng(n).standard_normal((3, n)).astype(np.float32)
        hard_sorted, hard_perm = h.run(
            lambda a: groco_module.bitonic_sort(a, steepness=1e6), x)
        np.testing.assert_allclose(hard_sorted, np.sort(x, axis=1), atol=1e-4)
        for row in range(3):
            ranks = np.argsort(np.argsort(x[row]))
            np.testing.assert_allclose(hard_perm[row], np.eye(n)[ranks], atol=1e-3)
        soft_sorted, soft_perm = h.run(
            lambda a: groco_module.bitonic_sort(a, steepness=0.5, relaxation="logistic"), x)
        np.testing.assert_allclose(soft_perm.sum(1), 1, atol=1e-5)
        np.testing.assert_allclose(soft_perm.sum(2), 1, atol=1e-5)
        assert np.all(soft_perm >= 0) and np.max(soft_perm) < 0.99  # soft, not a permutation
        np.testing.assert_allclose(soft_sorted, np.einsum("ri,rij->rj", x, soft_perm), atol=1e-4)
        for row in range(3):
            ref_sorted, ref_perm = relaxed_bitonic(x[row], 0.5, "logistic")
            np.testing.assert_allclose(soft_perm[row], ref_perm, atol=1e-5)
            np.testing.assert_allclose(soft_sorted[row], ref_sorted, atol=1e-5)


def test_bitonic_groco_matches_reference_and_gradients():
    for z, k, st in [(h.normal(0, 2, 7, 5), 3, 1.0), (h.normal(1, 3, 9, 5), 10, 4.0)]:
        h.assert_close(h.run(lambda x: losses.groco(x, num_negatives=k, steepness=st,
                                                    network="bitonic"), z),
                       reference(z, k, st, network="bitonic"), rtol=1e-5)
    h.check_grads_x64(lambda x: losses.groco(x, num_negatives=4, steepness=3.0,
                                             network="bitonic", stop_gradient=False),
                      h.normal(2, 2, 6, 4))
