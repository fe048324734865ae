import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(z1, z2, eps):
    def whiten(z):
        z = np.asarray(z, np.float64)
        centered = z - z.mean(axis=0)
        cov = centered.T @ centered / max(len(z) - 1, 1)
        lower = np.linalg.cholesky((1 - eps) * cov + eps * np.eye(z.shape[1]))
        return np.linalg.solve(lower, centered.T).T

    def normalize(w):
        norms = np.linalg.norm(w, axis=-1, keepdims=True)
        return np.where(norms > 0, w / np.maximum(norms, 1e-300), 0.0)

    w1, w2 = normalize(whiten(z1)), normalize(whiten(z2))
    return np.mean(np.sum((w1 - w2) ** 2, axis=-1))


def test_matches_reference():
    cases = [(h.normal(i, n, d), h.normal(i + 10, n, d), np.float32(eps))
             for i, (n, d, eps) in enumerate([(1, 3, 1e-4), (2, 3, 1e-2), (12, 4, 1e-4),
                                              (32, 6, 0.1)])]
    h.assert_matches_reference(lambda a, c, eps: losses.wmse(a, c, eps=eps), reference, cases,
                               rtol=2e-5, atol=1e-6)


def test_gradients_float64():
    h.check_grads_x64(lambda a, c: losses.wmse(a, c, eps=1e-3),
                      h.normal(0, 10, 3), h.normal(1, 10, 3))


def test_invariances_including_upper_triangular_maps():
    z1, z2 = h.normal(0, 12, 4), h.normal(1, 12, 4)
    # Cholesky whitening of z M, with M upper triangular with a positive diagonal, equals the
    # whitening of z (the factor becomes M^T L), so with eps = 0 the views agree exactly.
    m = np.triu(h.normal(2, 4, 4)) + 3 * np.eye(4, dtype=np.float32)
    exact = lambda a, c: losses.wmse(a, c, eps=0.0)
    h.assert_invariant(exact, (z1, z2), [h.permuted((z1, z2), (0, 0)), (z2, z1),
                                         (z1 @ m, z2), (2.0 * z1 + 1.0, z2)], rtol=1e-4)
    h.assert_close(h.run(exact, z1, z1 @ m), 0.0, atol=1e-5)


def test_extremes_float32_and_bfloat16():
    z1, z2 = h.normal(0, 2, 8), h.normal(1, 2, 8)
    h.assert_finite_value_and_grads(losses.wmse, (z1[:1], z2[:1]), (z1, z2))


def test_sharded_matches_full_batch_statistics():
    z1, z2 = h.normal(0, 32, 4), h.normal(1, 32, 4)
    h.assert_sharded_matches_full(losses.wmse, (z1, z2), (P("data"), P("data")))
