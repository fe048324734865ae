import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(query, key, negatives, lam, mu, perm, temperature):
    """InfoNCE on the extrapolated pair and interpolated negatives, in float64."""
    q, k, n = h.unit(query), h.unit(key), h.unit(negatives)
    q_hat, k_hat = lam * q + (1 - lam) * k, lam * k + (1 - lam) * q
    n_hat = mu * n + (1 - mu) * n[perm]
    total = 0.0
    for i in range(len(q)):
        logits = np.concatenate([[q_hat[i] @ k_hat[i]], n_hat @ q_hat[i]]) / temperature
        total += h.log_sum_exp(logits) - logits[0]
    return total / len(q)


def perm(seed, size):
    return np.random.default_rng(seed).permutation(size).astype(np.int32)


def test_matches_reference():
    cases = [(h.normal(0, 1, 4), h.normal(1, 1, 4), h.normal(2, 3, 4), 1.3, 0.2, perm(0, 3), 0.2),
             (h.normal(3, 5, 6), h.normal(4, 5, 6), h.normal(5, 16, 6), 1.9, 0.7, perm(1, 16),
              0.07),
             (h.normal(6, 2, 3), h.normal(7, 2, 3), h.normal(8, 2, 3), 0.4, 0.5, perm(2, 2), 0.5)]
    h.assert_matches_reference(
        lambda q, k, n, lam, mu, p, t: losses.feature_transformation_info_nce(
            q, k, n, lam, mu, p, temperature=t), reference,
        [(q, k, n, np.float32(lam), np.float32(mu), p, np.float32(t))
         for q, k, n, lam, mu, p, t in cases])
    # l = 1, m = 1: no transformation, MoCo's queue InfoNCE.
    q, k, n = cases[1][:3]
    h.assert_close(h.run(lambda a, b, c: [
        losses.feature_transformation_info_nce(a, b, c, 1.0, 1.0, jnp.arange(16)),
        losses.queue_info_nce(a, b, c)], q, k, n), [reference(q, k, n, 1, 1, perm(1, 16), 0.2)] * 2)


def test_draws_follow_the_papers_distributions():
    keys = jax.random.split(jax.random.key(0), 512)
    lam, mu, pi = h.run(jax.vmap(lambda r: losses.feature_transformation_draws(r, 6)), keys)
    assert np.all((lam >= 1) & (lam <= 2)) and np.all((mu >= 0) & (mu <= 1))
    # Beta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)); 512 draws: std of the mean ~0.01.
    assert abs(lam.mean() - 1.5) < 0.05 and abs(mu.mean() - 0.5) < 0.05
    assert abs(lam.var() - 1 / 20) < 0.015 and abs(mu.var() - 1 / 16.8) < 0.015
    assert np.all(np.sort(pi, axis=1) == np.arange(6))
    assert len({tuple(p) for p in pi.astype(int)}) > 100


def test_extrapolation_makes_the_positive_harder():
    # l >= 1 lowers q^.k^ = (l^2 + (1-l)^2) q.k + 2 l (1-l) (unit q, k): a harder positive.
    q, k = h.normal(0, 6, 5), h.normal(1, 6, 5)
    n = h.normal(2, 1, 5)
    values = h.run(lambda a, b, c: [losses.feature_transformation_info_nce(
        a, b, c, lam, 1.0, jnp.zeros(1, jnp.int32)) for lam in (1.0, 1.25, 1.5, 2.0)], q, k, n)
    assert np.all(np.diff(values) > 0)


def test_gradients_float64():
    h.check_grads_x64(lambda a, b, c: losses.feature_transformation_info_nce(
        a, b, c, 1.6, 0.3, jnp.array([4, 2, 0, 1, 3]), temperature=0.3),
        h.normal(0, 3, 4), h.normal(1, 3, 4), h.normal(2, 5, 4))


def test_invariances():
    q, k, n = h.normal(0, 6, 5), h.normal(1, 6, 5), h.normal(2, 7, 5)
    p = perm(3, 7)
    fn = lambda a, b, c: losses.feature_transformation_info_nce(a, b, c, 1.7, 0.4, p)
    batch = np.random.default_rng(1).permutation(6)
    h.assert_invariant(fn, (q, k, n), [(q[batch], k[batch], n),
                                       (h.row_scaled(q, 3), h.row_scaled(k, 4),
                                        h.row_scaled(n, 5))])


def test_extremes_finite():
    q, k, n = h.normal(0, 4, 6), h.normal(1, 4, 6), h.normal(2, 8, 6)
    p = perm(4, 8)
    fn = lambda a, b, c: losses.feature_transformation_info_nce(
        a, b, c, 2.0, 0.5, p[:c.shape[0]] % c.shape[0], temperature=0.01)
    h.assert_close(h.run(fn, q, k, n), reference(q, k, n, 2.0, 0.5, p, 0.01), rtol=1e-4)
    h.assert_finite_value_and_grads(fn, (q[:1], k[:1], n[:1]), (q[:2], k[:2], n[:2]))
