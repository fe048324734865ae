import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference_alignment(z1, z2, alpha):
    a, b = h.unit(z1), h.unit(z2)
    return np.mean(np.linalg.norm(a - b, axis=1) ** alpha)


def reference_uniformity(z, t):
    u = h.unit(z)
    n = len(u)
    if n == 1:
        return 0.0
    pairs = [np.exp(-t * np.sum((u[i] - u[j]) ** 2)) for i in range(n) for j in range(i + 1, n)]
    return np.log(np.mean(pairs))


def test_alignment_matches_reference():
    cases = [(h.normal(0, b, d), h.normal(1, b, d)) for b, d in [(1, 4), (2, 3), (9, 5)]]
    for alpha in (2, 1):
        h.assert_matches_reference(lambda a, c: losses.alignment(a, c, alpha=alpha),
                                   lambda a, c: reference_alignment(a, c, alpha), cases)


def test_uniformity_matches_reference():
    cases = [(h.normal(0, b, d), np.float32(t)) for b, d, t in [(1, 4, 2), (2, 3, 2), (9, 5, 2),
                                                                (9, 5, 0.5)]]
    h.assert_matches_reference(lambda z, t: losses.uniformity(z, t=t), reference_uniformity,
                               cases)


def test_gradients_float64():
    z1, z2 = h.normal(0, 5, 4), h.normal(1, 5, 4)
    h.check_grads_x64(lambda a, c: (losses.alignment(a, c) + losses.alignment(a, c, alpha=1)
                                    + losses.uniformity(a, t=2)), z1, z2)


def test_invariances():
    z1, z2 = h.normal(0, 7, 5), h.normal(1, 7, 5)
    scaled = (h.row_scaled(z1, 2), h.row_scaled(z2, 3))
    h.assert_invariant(losses.alignment, (z1, z2), [h.permuted((z1, z2), (0, 0)), scaled,
                                                    (z2, z1)])
    h.assert_invariant(losses.uniformity, (z1,), [h.permuted((z1,), (0,)), scaled[:1]])


def test_closed_forms():
    z = h.normal(0, 4, 6)
    antipodal = np.array([[1.0, 0.0], [-1.0, 0.0]], np.float32)
    got = h.run(lambda x, a: [losses.alignment(x, x), losses.alignment(x, x, alpha=1),
                              losses.alignment(a[:1], a[1:], alpha=3), losses.uniformity(a),
                              losses.uniformity(a[:1])], z, antipodal)
    h.assert_close(got, [0.0, 0.0, 8.0, -8.0, 0.0], atol=1e-6)


def test_extremes_identical_pairs_and_single_points_float32_and_bfloat16():
    z = h.normal(0, 2, 8)

    def fn(a):
        return (losses.alignment(a, a, alpha=1) + losses.alignment(a, a)
                + losses.uniformity(a, t=2))

    h.assert_finite_value_and_grads(fn, (z[:1],), (z,))


def test_sharded_uniformity_matches_full_batch():
    z = h.normal(0, 16, 6)
    h.assert_sharded_matches_full(losses.uniformity, (z,), (P("data"),))
