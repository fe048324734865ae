import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(z1, z2, sim_weight=25.0, var_weight=25.0, cov_weight=1.0, eps=1e-4):
    z1, z2 = np.asarray(z1, np.float64), np.asarray(z2, np.float64)
    n, d = z1.shape
    invariance = np.mean((z1 - z2) ** 2)
    variance = covariance = 0.0
    for z in (z1, z2):
        centered = z - z.mean(axis=0)
        cov = centered.T @ centered / max(n - 1, 1)
        variance += np.mean(np.maximum(0.0, 1 - np.sqrt(np.diag(cov) + eps))) / 2
        covariance += sum(cov[i, j] ** 2 for i in range(d) for j in range(d) if i != j) / d
    return sim_weight * invariance + var_weight * variance + cov_weight * covariance


def test_matches_reference():
    # Scales around 1 so that some dimensions sit inside the variance hinge and some outside.
    cases = [(s * h.normal(i, n, d), s * h.normal(i + 10, n, d))
             for i, (n, d, s) in enumerate([(1, 3, 1.0), (2, 3, 0.7), (9, 4, 0.9), (16, 6, 1.2)])]
    h.assert_matches_reference(losses.vicreg, reference, cases)
    h.assert_matches_reference(
        lambda a, c: losses.vicreg(a, c, sim_weight=1.0, var_weight=2.0, cov_weight=3.0),
        lambda a, c: reference(a, c, 1.0, 2.0, 3.0), cases)


def test_gradients_float64():
    # std of the first dims ~0.5 (hinge active), the last ~2 (inactive): away from the kink.
    scale = np.array([0.5, 0.5, 2.0, 2.0])
    h.check_grads_x64(losses.vicreg, h.normal(0, 8, 4) * scale, h.normal(1, 8, 4) * scale)


def test_invariances():
    z1, z2 = h.normal(0, 9, 4), h.normal(1, 9, 4)
    h.assert_invariant(losses.vicreg, (z1, z2), [h.permuted((z1, z2), (0, 0)), (z2, z1)])


def test_closed_forms():
    collapsed = np.ones((6, 4), np.float32)
    # Hadamard columns: zero mean, uncorrelated, unbiased variance 8/7 > 1 (hinge inactive).
    m = np.array([[1.0]])
    while m.shape[0] < 8:
        m = np.block([[m, m], [m, -m]])
    spread = m[:, 1:].astype(np.float32)
    got = h.run(lambda c, s: [losses.vicreg(c, c), losses.vicreg(s, s)], collapsed, spread)
    h.assert_close(got, [25.0 * (1 - np.sqrt(1e-4)), 0.0], atol=1e-6)


def test_extremes_float32_and_bfloat16():
    z1, z2 = h.normal(0, 2, 8), h.normal(1, 2, 8)
    h.assert_finite_value_and_grads(losses.vicreg, (z1[:1], z2[:1]), (z1, z2))


def test_sharded_matches_full_batch_statistics():
    z1, z2 = 0.8 * h.normal(0, 16, 6), 0.8 * h.normal(1, 16, 6)
    h.assert_sharded_matches_full(losses.vicreg, (z1, z2), (P("data"), P("data")))
