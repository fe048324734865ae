import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def temperature(pa, pb, tau_min, tau_max):
    r = float(np.dot(np.asarray(pa, np.float64), np.asarray(pb, np.float64)))
    return tau_min + (tau_max - tau_min) / (1 + np.exp(r))


def reference(z1, z2, phi1, phi2, beta=0.01, tau_min=1e-5, tau_max=2.0, top_k=100):
    """AMCL (released form) head by head and anchor by anchor, in float64."""
    total = 0.0
    for c in range(z1.shape[0]):
        z = np.concatenate([h.unit(z1[c]), h.unit(z2[c])])
        phi = np.concatenate([phi1[c], phi2[c]]).astype(np.float64)
        b = z1.shape[1]
        dim = z.shape[1]
        per_anchor = []
        for a in range(2 * b):
            p = (a + b) % (2 * b)
            tau_p = temperature(phi[a], phi[p], tau_min, tau_max)
            term = -z[a] @ z[p] / tau_p + beta * (dim / 2 * np.log(tau_p) + 1 / tau_p)
            negatives = sorted((k for k in range(2 * b) if k not in (a, p)),
                               key=lambda k: -(z[a] @ z[k]))[:top_k]
            if negatives:
                taus = np.array([temperature(phi[a], phi[k], tau_min, tau_max)
                                 for k in negatives])
                sims = np.array([z[a] @ z[k] for k in negatives])
                term += np.mean(sims / taus) - beta * np.sum(np.log(taus) + 1 / taus)
            per_anchor.append(term)
        total += np.mean(per_anchor)
    return total


def case(seed, heads, b, d, e, scale=0.5):
    return (h.normal(seed, heads, b, d), h.normal(seed + 1, heads, b, d),
            scale * h.normal(seed + 2, heads, b, e), scale * h.normal(seed + 3, heads, b, e))


def test_matches_reference():
    # The last case has the sizes where a broadcast-and-sum pairwise product was miscompiled
    # under jit on CPU (see losses/amcl.py).
    cases = [case(0, 1, 1, 4, 3), case(10, 2, 2, 4, 3), case(20, 3, 7, 5, 4),
             case(30, 2, 9, 6, 4), case(40, 1, 16, 16, 16, scale=0.3)]
    h.assert_matches_reference(lambda *a: losses.amcl(*a, tau_min=0.05), 
                               lambda *a: reference(*a, tau_min=0.05), cases, rtol=1e-5)
    # top_k smaller than the 2B - 2 negatives, other beta and range.
    h.assert_matches_reference(
        lambda *a: losses.amcl(*a, beta=0.1, tau_min=0.1, tau_max=1.0, top_k=5),
        lambda *a: reference(*a, beta=0.1, tau_min=0.1, tau_max=1.0, top_k=5), cases[2:])


def test_temperature_range_and_direction():
    phi = h.normal(0, 5, 4)
    taus = h.run(lambda p: losses.amcl_temperature(p, 3 * p, tau_min=0.1, tau_max=0.5), phi)
    assert np.all((taus > 0.1) & (taus < 0.5))
    # Similar pairs (large phi . phi) get the low temperatures.
    hi, lo = h.run(lambda p: [losses.amcl_temperature(p, 10 * p, tau_min=0.1, tau_max=0.5),
                              losses.amcl_temperature(p, -10 * p, tau_min=0.1, tau_max=0.5)],
                   phi)
    assert np.all(hi < lo)


def test_gradients_float64():
    args = case(0, 2, 4, 5, 3)
    h.check_grads_x64(lambda *a: losses.amcl(*a, tau_min=0.05, top_k=4), *args)


def test_invariances():
    z1, z2, p1, p2 = case(0, 2, 6, 5, 3)
    perm = np.random.default_rng(1).permutation(6)
    variants = [tuple(x[:, perm] for x in (z1, z2, p1, p2)),
                (h.row_scaled(z1, 3), h.row_scaled(z2, 4), p1, p2),
                (z2, z1, p2, p1),
                (z1[::-1], z2[::-1], p1[::-1], p2[::-1])]
    h.assert_invariant(lambda *a: losses.amcl(*a, tau_min=0.05), (z1, z2, p1, p2), variants)


def test_extremes_finite():
    # tau_min = 0.01 (the lowest temperature), the released default 1e-5, batches of 1 and 2.
    args = case(0, 2, 6, 5, 3, scale=2.0)
    for tau_min in (0.01, 1e-5):
        got = h.run(lambda *a: losses.amcl(*a, tau_min=tau_min), *args)
        h.assert_close(got, reference(*args, tau_min=tau_min), rtol=1e-4)
    small = tuple(a[:, :1] for a in args)
    pair = tuple(a[:, :2] for a in args)
    h.assert_finite_value_and_grads(lambda *a: losses.amcl(*a, tau_min=0.01), small, pair)


def test_sharded_matches_full_batch():
    args = case(0, 2, 16, 6, 3)
    h.assert_sharded_matches_full(
        lambda *a, axis_name=None: losses.amcl(*a, tau_min=0.05, top_k=7, axis_name=axis_name),
        args, (P(None, "data"),) * 4)


def reference_info_nce(q, k, pq, pk, beta=0.01, tau_min=1e-5, tau_max=2.0, top_k=100):
    """AMCL's query-key form: queries as anchors, the other keys as negatives, in float64."""
    total = 0.0
    for c in range(q.shape[0]):
        qs, ks = h.unit(q[c]), h.unit(k[c])
        b, dim = qs.shape
        per_query = []
        for i in range(b):
            tau_p = temperature(pq[c, i], pk[c, i], tau_min, tau_max)
            term = -qs[i] @ ks[i] / tau_p + beta * (dim / 2 * np.log(tau_p) + 1 / tau_p)
            negatives = sorted((j for j in range(b) if j != i),
                               key=lambda j: -(qs[i] @ ks[j]))[:top_k]
            if negatives:
                taus = np.array([temperature(pq[c, i], pk[c, j], tau_min, tau_max)
                                 for j in negatives])
                sims = np.array([qs[i] @ ks[j] for j in negatives])
                term += np.mean(sims / taus) - beta * np.sum(np.log(taus) + 1 / taus)
            per_query.append(term)
        total += np.mean(per_query)
    return total


def test_info_nce_form_matches_reference_gradients_and_shards():
    cases = [case(0, 1, 1, 4, 3), case(10, 2, 2, 4, 3), case(20, 3, 7, 5, 4),
             case(40, 1, 16, 16, 16, scale=0.3)]
    h.assert_matches_reference(lambda *a: losses.amcl_info_nce(*a, tau_min=0.05, top_k=5),
                               lambda *a: reference_info_nce(*a, tau_min=0.05, top_k=5), cases)
    h.check_grads_x64(lambda *a: losses.amcl_info_nce(*a, tau_min=0.05), *case(0, 2, 4, 5, 3))
    h.assert_finite_value_and_grads(lambda *a: losses.amcl_info_nce(*a, tau_min=0.01),
                                    tuple(a[:, :1] for a in cases[2]),
                                    tuple(a[:, :2] for a in cases[2]))
    h.assert_sharded_matches_full(
        lambda *a, axis_name=None: losses.amcl_info_nce(*a, tau_min=0.05, top_k=7,
                                                        axis_name=axis_name),
        case(50, 2, 16, 6, 3), (P(None, "data"),) * 4)
