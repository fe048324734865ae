import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(z1, z2, lambda_, eps=1e-5):
    def standardize(z):
        z = np.asarray(z, np.float64)
        centered = z - z.mean(axis=0)
        return centered / np.sqrt(centered.var(axis=0) + eps)  # biased variance, as BatchNorm

    a, b = standardize(z1), standardize(z2)
    n, d = a.shape
    c = a.T @ b / n
    return sum((1 - c[i, i]) ** 2 if i == j else lambda_ * c[i, j] ** 2
               for i in range(d) for j in range(d))


def hadamard(n):
    m = np.ones((1, 1))
    while m.shape[0] < n:
        m = np.block([[m, m], [m, -m]])
    return m


def test_matches_reference():
    cases = [(h.normal(0, n, d), h.normal(1, n, d), np.float32(lam))
             for n, d, lam in [(2, 3, 5e-3), (9, 4, 5e-3), (16, 6, 0.5)]]
    h.assert_matches_reference(lambda a, c, lam: losses.barlow_twins(a, c, lambda_=lam),
                               reference, cases)


def test_single_example_gives_the_dimension():
    z1, z2 = h.normal(0, 1, 5), h.normal(1, 1, 5)
    h.assert_close(h.run(losses.barlow_twins, z1, z2), 5.0)


def test_gradients_float64():
    h.check_grads_x64(lambda a, c: losses.barlow_twins(a, c, lambda_=0.1),
                      h.normal(0, 6, 4), h.normal(1, 6, 4))


def test_invariances():
    z1, z2 = h.normal(0, 9, 4), h.normal(1, 9, 4)
    # Standardization removes any per-dimension shift and positive scale.
    affine = z1 * np.array([0.5, 2.0, 3.0, 1.5], np.float32) + np.float32(4.0)
    h.assert_invariant(losses.barlow_twins, (z1, z2),
                       [h.permuted((z1, z2), (0, 0)), (z2, z1), (affine, z2)], rtol=1e-4)


def test_closed_form_decorrelated_views():
    # Columns of a Hadamard matrix (all-ones column dropped): zero mean, unit variance,
    # uncorrelated. Then C = I / (1 + eps) and only the diagonal term remains.
    z = hadamard(8)[:, 1:].astype(np.float32)
    eps = 1e-5
    h.assert_close(h.run(lambda a: losses.barlow_twins(a, a, eps=eps), z),
                   7 * (1 - 1 / (1 + eps)) ** 2, atol=1e-9)


def test_extremes_float32_and_bfloat16():
    z1, z2 = h.normal(0, 2, 8), h.normal(1, 2, 8)
    h.assert_finite_value_and_grads(losses.barlow_twins, (z1[:1], z2[:1]), (z1, z2))


def test_sharded_matches_full_batch_statistics():
    z1, z2 = h.normal(0, 16, 6), h.normal(1, 16, 6)
    h.assert_sharded_matches_full(losses.barlow_twins, (z1, z2), (P("data"), P("data")))
