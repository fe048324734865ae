import numpy as np

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(anchor, positive, negative, margin, normalize=True):
    prep = h.unit if normalize else (lambda x: np.asarray(x, np.float64))
    a, p, n = prep(anchor), prep(positive), prep(negative)
    return np.mean([max(0.0, np.sum((a[i] - p[i]) ** 2) - np.sum((a[i] - n[i]) ** 2) + margin)
                    for i in range(len(a))])


def test_matches_reference():
    cases = [(h.normal(3 * i, b, d), h.normal(3 * i + 1, b, d), h.normal(3 * i + 2, b, d),
              np.float32(m)) for i, (b, d, m) in enumerate([(1, 4, 0.2), (2, 3, 0.2), (9, 5, 1.0)])]
    h.assert_matches_reference(lambda a, p, n, m: losses.triplet_margin(a, p, n, margin=m),
                               reference, cases)
    h.assert_matches_reference(
        lambda a, p, n, m: losses.triplet_margin(a, p, n, margin=m, normalize=False),
        lambda a, p, n, m: reference(a, p, n, m, normalize=False), cases)


def test_gradients_float64_and_invariances():
    a, p, n = h.normal(0, 6, 4), h.normal(1, 6, 4), h.normal(2, 6, 4)
    h.check_grads_x64(lambda x, y, z: losses.triplet_margin(x, y, z, margin=0.5), a, p, n)
    h.assert_invariant(losses.triplet_margin, (a, p, n),
                       [h.permuted((a, p, n), (0, 0, 0)),
                        (h.row_scaled(a, 3), h.row_scaled(p, 4), h.row_scaled(n, 5))])


def test_closed_forms():
    a = h.normal(0, 4, 6)
    easy, hard = h.run(lambda x: [losses.triplet_margin(x, x, -x),  # 0 - 4 + 0.2 < 0
                                  losses.triplet_margin(x, -x, x)], a)  # 4 - 0 + 0.2
    h.assert_close([easy, hard], [0.0, 4.2])


def test_extremes_float32_and_bfloat16():
    a, p, n = h.normal(0, 2, 8), h.normal(1, 2, 8), h.normal(2, 2, 8)
    h.assert_finite_value_and_grads(losses.triplet_margin, (a[:1], p[:1], n[:1]), (a, p, n))
