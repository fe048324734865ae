import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def jaccard_reference(a, b):
    out = np.zeros((len(a), len(b)))
    for i, row_a in enumerate(a):
        for j, row_b in enumerate(b):
            sa, sb = set(row_a[row_a != 0]), set(row_b[row_b != 0])
            out[i, j] = len(sa & sb) / len(sa | sb) if sa | sb else 0.0
    return out


def reference(z1, z2, surface, t, bins, threshold):
    q, k = h.unit(z1), h.unit(z2)
    cos = q @ k.T
    n = len(q)
    own = np.eye(n, dtype=bool)
    kept = (cos < threshold) & ~own
    level = np.clip(np.floor(np.asarray(surface, np.float64) * bins), 0, bins - 1).astype(int)
    counts = np.array([np.sum(kept & (level == b)) for b in range(bins)], np.float64)
    filled = max(np.sum(counts > 0), 1)
    loss = 0.0
    for i in range(n):
        total = np.exp(cos[i, i] / t)
        for j in range(n):
            if kept[i, j]:
                weight = kept.sum() / (filled * counts[level[i, j]])
                total += weight * np.exp(cos[i, j] / t)
        loss += -cos[i, i] / t + np.log(total)
    return loss / n


def surface_of(seed, n):
    s = np.random.default_rng(seed).uniform(0, 1, (n, n)).astype(np.float32)
    return np.where(np.eye(n, dtype=bool), 1.0, s).astype(np.float32)


def test_token_jaccard_matches_sets():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, (5, 7)).astype(np.int32)
    b = rng.integers(0, 6, (4, 5)).astype(np.int32)
    a[0] = 0  # an empty row
    h.assert_close(h.run(losses.token_jaccard, a, b), jaccard_reference(a, b), atol=1e-6)


def test_matches_reference():
    cases = []
    for i, (n, d, t, threshold) in enumerate([(2, 3, 0.05, 2.0), (6, 4, 0.5, 0.5),
                                              (16, 8, 0.1, 0.3)]):
        cases.append((h.normal(i, n, d), h.normal(i + 10, n, d), surface_of(i, n), t,
                      threshold))
    for a, b, s, t, r in cases:
        value = h.run(lambda x, y, z: losses.debcse(x, y, z, temperature=t,
                                                    false_negative_threshold=r), a, b, s)
        h.assert_close(value, reference(a, b, s, t, 10, r), rtol=1e-4, atol=1e-6)


def test_uniform_weights_reduce_to_info_nce():
    z1, z2 = h.normal(0, 8, 4), h.normal(1, 8, 4)
    surface = np.full((8, 8), 0.25, np.float32)  # one bin, nothing dropped: every w_ij = 1
    deb = h.run(lambda a, b, s: losses.debcse(a, b, s, temperature=0.2,
                                              false_negative_threshold=2.0), z1, z2, surface)
    nce = h.run(lambda a, b: losses.info_nce(a, b, temperature=0.2), z1, z2)
    h.assert_close(deb, nce, rtol=1e-5)


def test_gradients_float64():
    surface = surface_of(3, 6)
    h.check_grads_x64(lambda a, b: losses.debcse(a, b, surface, temperature=0.5,
                                                 false_negative_threshold=2.0),
                      h.normal(0, 6, 3), h.normal(1, 6, 3))


def test_invariances():
    z1, z2, surface = h.normal(0, 10, 4), h.normal(1, 10, 4), surface_of(5, 10)
    perm = np.random.default_rng(2).permutation(10)
    fn = lambda a, b, s: losses.debcse(a, b, s, temperature=0.2, false_negative_threshold=0.6)
    h.assert_invariant(fn, (z1, z2, surface),
                       [(z1[perm], z2[perm], surface[np.ix_(perm, perm)]),
                        (h.row_scaled(z1, 0), h.row_scaled(z2, 1), surface)])


def test_extremes_float32_and_bfloat16():
    fn = lambda a, b: losses.debcse(a, b, surface_of(0, a.shape[0]), temperature=0.01)
    h.assert_finite_value_and_grads(fn, (h.normal(0, 1, 4), h.normal(1, 1, 4)),
                                    (h.normal(2, 2, 4), h.normal(3, 2, 4)))


def test_bad_surface_shape():
    with pytest.raises(ValueError, match=r"surface must be \[b, B\]"):
        losses.debcse(h.normal(0, 4, 3), h.normal(1, 4, 3), np.zeros((4, 3), np.float32))


def test_sharded_matches_full_batch():
    z1, z2, surface = h.normal(0, 32, 4), h.normal(1, 32, 4), surface_of(1, 32)
    fn = lambda a, b, s, axis_name=None: losses.debcse(a, b, s, temperature=0.1,
                                                       false_negative_threshold=0.5,
                                                       axis_name=axis_name)
    h.assert_sharded_matches_full(fn, (z1, z2, surface), (P("data"), P("data"),
                                                          P("data", None)), argnums=(0, 1))
