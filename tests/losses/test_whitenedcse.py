import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads

from contrastive_jax import losses
from tests.losses import helpers as h


def zca(x, eps):
    """Centred x @ (x^T x / N + eps I)^{-1/2}, in float64."""
    x = x - x.mean(axis=0)
    cov = x.T @ x / len(x) + eps * np.eye(x.shape[1])
    s, u = np.linalg.eigh(cov)
    return x @ (u / np.sqrt(s)) @ u.T


def whiten_reference(z, perm, groups, eps):
    z = np.asarray(z, np.float64)[:, perm]
    d = z.shape[1] // groups
    out = np.concatenate([zca(z[:, g * d:(g + 1) * d], eps) for g in range(groups)], axis=1)
    return out[:, np.argsort(perm)]


def info_nce_reference(q, k, t):
    q, k = h.unit(q), h.unit(k)
    logits = q @ k.T / t
    return np.mean(h.log_sum_exp(logits) - np.diag(logits))


def reference(views, perms, groups, t, eps):
    w = [whiten_reference(v, p, groups, eps) for v, p in zip(views, perms)]
    return sum(info_nce_reference(w[0], wv, t) for wv in w[1:])


def test_matches_reference():
    key = jax.random.key(3)
    cases = [(h.normal(0, 3, 24, 8), 4, 0.05, 1e-5), (h.normal(1, 2, 16, 6), 2, 0.1, 0.0),
             (h.normal(2, 4, 40, 8), 1, 0.5, 1e-3)]
    got = h.jit(lambda vs: [losses.whitenedcse(v, key, num_groups=g, temperature=t, eps=e)
                            for v, (_, g, t, e) in zip(vs, cases)])([c[0] for c in cases])
    for value, (views, groups, t, eps) in zip(got, cases):
        perms = np.asarray(losses.group_permutations(key, views.shape[0], views.shape[2]))
        h.assert_close(value, reference(views, perms, groups, t, eps), rtol=2e-4, atol=1e-5)


def test_whitening_matches_reference_and_gives_unit_group_covariance():
    z = h.normal(4, 32, 8)
    perm = np.random.default_rng(0).permutation(8)
    got = h.run(lambda x: losses.shuffled_group_whitening(x, jnp.asarray(perm), num_groups=4,
                                                          eps=0.0), z)
    want = whiten_reference(z, perm, 4, 0.0)
    h.assert_close(got, want, rtol=1e-3, atol=1e-4)
    cov = want.T @ want / 32
    for g in range(4):  # a group is the channels perm[2g], perm[2g + 1]
        idx = perm[2 * g:2 * g + 2]
        np.testing.assert_allclose(cov[np.ix_(idx, idx)], np.eye(2), atol=1e-8)


def test_inverse_sqrt_gradient_finite_at_repeated_eigenvalues():
    with jax.enable_x64(True):
        base = 2.0 * np.eye(3)  # triple eigenvalue: differentiating eigh divides by zero
        def fn(c):
            return jnp.sum(losses.inverse_sqrt_psd(c) * jnp.arange(9.0).reshape(3, 3))
        check_grads(fn, (jnp.asarray(base),), order=1, modes=["rev", "fwd"])
        a = np.random.default_rng(0).standard_normal((4, 4))
        check_grads(fn, (jnp.asarray(a @ a.T + np.eye(4))[:3, :3],), order=1, modes=["rev"])


def test_gradients_float64():
    key = jax.random.key(0)
    h.check_grads_x64(lambda v: losses.whitenedcse(v, key, num_groups=2, temperature=0.5,
                                                   eps=1e-3), h.normal(0, 2, 12, 4))


def test_invariances():
    key = jax.random.key(1)
    views = h.normal(5, 3, 16, 4)
    fn = lambda v: losses.whitenedcse(v, key, num_groups=2, temperature=0.2, eps=0.0)
    perm = np.random.default_rng(1).permutation(16)
    # whitening removes each view's mean and scale; the batch order does not matter
    h.assert_invariant(fn, (views,), [(views[:, perm],), (3.0 * views + 1.5,)], rtol=1e-3)


def test_extremes_float32_and_bfloat16():
    key = jax.random.key(2)
    fn = lambda v: losses.whitenedcse(v, key, num_groups=2, temperature=0.01)
    h.assert_finite_value_and_grads(fn, (h.normal(0, 2, 1, 4),), (h.normal(1, 3, 2, 4),))


def test_bad_groups_name_the_divisors():
    import pytest
    with pytest.raises(ValueError, match=r"valid: \[1, 2, 3, 6\]"):
        losses.whitenedcse(jnp.ones((2, 4, 6)), jax.random.key(0), num_groups=4)


def test_sharded_matches_full_batch():
    key = jax.random.key(3)
    fn = lambda v, axis_name=None: losses.whitenedcse(v, key, num_groups=2, temperature=0.1,
                                                      axis_name=axis_name)
    h.assert_sharded_matches_full(fn, (h.normal(6, 3, 32, 4),), (P(None, "data"),), rtol=1e-4)
