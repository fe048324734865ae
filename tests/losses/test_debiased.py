import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(z1, z2, temperature, tau_plus, beta=None):
    """The estimator written literally: exp, importance weights, clamp (float64)."""
    z = np.concatenate([h.unit(z1), h.unit(z2)])
    b = len(z1)
    n_neg = 2 * b - 2
    total = 0.0
    for a in range(2 * b):
        positive = (a + b) % (2 * b)
        pos = np.exp(z[a] @ z[positive] / temperature)
        neg = np.array([np.exp(z[a] @ z[k] / temperature)
                        for k in range(2 * b) if k not in (a, positive)])
        if beta is None:
            weighted = neg.sum()
        else:
            importance = neg ** beta  # = exp(beta * s / t)
            weighted = np.sum(importance * neg) / np.mean(importance) if n_neg else 0.0
        ng = max((-tau_plus * n_neg * pos + weighted) / (1 - tau_plus),
                 n_neg * np.exp(-1 / temperature))
        total -= np.log(pos / (pos + ng))
    return total / (2 * b)


SETTINGS = [(1, 4, 0.5, 0.1, 1.0), (2, 3, 0.5, 0.1, 0.5), (7, 5, 0.5, 0.1, 1.0),
            (7, 5, 0.2, 0.3, 2.0)]
CASES = [(h.normal(0, b, d), h.normal(1, b, d), np.float32(t), np.float32(tau), np.float32(beta))
         for b, d, t, tau, beta in SETTINGS]


def test_debiased_matches_reference():
    h.assert_matches_reference(
        lambda a, c, t, tau, _: losses.debiased_info_nce(a, c, temperature=t, tau_plus=tau),
        lambda a, c, t, tau, _: reference(a, c, t, tau), CASES)


def test_hard_negative_matches_reference():
    h.assert_matches_reference(
        lambda a, c, t, tau, beta: losses.hard_negative_info_nce(
            a, c, temperature=t, tau_plus=tau, beta=beta),
        reference, CASES)


def test_special_cases_reduce_to_simpler_losses():
    z1, z2 = h.normal(0, 6, 5), h.normal(1, 6, 5)
    got = h.run(lambda a, c: [
        losses.hard_negative_info_nce(a, c, temperature=0.5, tau_plus=0.1, beta=0.0),
        losses.debiased_info_nce(a, c, temperature=0.5, tau_plus=0.1),
        losses.debiased_info_nce(a, c, temperature=0.5, tau_plus=0.0),
        losses.nt_xent(a, c, temperature=0.5)], z1, z2)
    h.assert_close(got[0], got[1])  # beta = 0: uniform importance weights
    h.assert_close(got[2], got[3])  # tau+ = 0: no debiasing, the clamp never binds


def test_gradients_float64():
    z1, z2 = h.normal(0, 4, 5), h.normal(1, 4, 5)
    h.check_grads_x64(
        lambda a, c: (losses.debiased_info_nce(a, c, temperature=0.5)
                      + losses.hard_negative_info_nce(a, c, temperature=0.5, beta=1.0)), z1, z2)


def test_invariances():
    z1, z2 = h.normal(0, 7, 5), h.normal(1, 7, 5)
    variants = [h.permuted((z1, z2), (0, 0)), (h.row_scaled(z1, 3), h.row_scaled(z2, 4)),
                (z2, z1)]
    h.assert_invariant(losses.debiased_info_nce, (z1, z2), variants)
    h.assert_invariant(losses.hard_negative_info_nce, (z1, z2), variants)


def test_closed_forms_including_the_clamp():
    # Identical views, orthogonal examples: pos = e^{1/t}, every negative is e^0 = 1, so the
    # importance weights are uniform and both losses agree.
    b, n_neg = 5, 8
    orthogonal = np.eye(b, 8, dtype=np.float32)

    def expected(t, tau):
        ng = max((-tau * n_neg * np.exp(1 / t) + n_neg) / (1 - tau), n_neg * np.exp(-1 / t))
        return np.log1p(ng * np.exp(-1 / t))

    settings = [(2.0, 0.1), (0.2, 0.1)]  # the second has a negative estimate: clamp binds
    assert (-0.1 * n_neg * np.exp(5.0) + n_neg) < 0
    got = h.run(lambda o: [f(o, o, temperature=t, tau_plus=tau) for t, tau in settings
                           for f in (losses.debiased_info_nce, losses.hard_negative_info_nce)],
                orthogonal)
    h.assert_close(got, [expected(t, tau) for t, tau in settings for _ in range(2)], atol=1e-6)


def test_extremes_low_temperature_float32_and_bfloat16():
    z1, z2 = h.normal(0, 6, 8), h.normal(1, 6, 8)
    got = h.run(lambda a, c: [losses.debiased_info_nce(a, c, temperature=0.01),
                              losses.hard_negative_info_nce(a, c, temperature=0.01)], z1, z2)
    h.assert_close(got, [reference(z1, z2, 0.01, 0.1), reference(z1, z2, 0.01, 0.1, 1.0)],
                   rtol=1e-4)
    both = lambda a, c: (losses.debiased_info_nce(a, c, temperature=0.01)
                         + losses.hard_negative_info_nce(a, c, temperature=0.01))
    h.assert_finite_value_and_grads(both, (z1[:1], z2[:1]), (z1[:2], z2[:2]))


def test_sharded_matches_full_batch():
    z1, z2 = h.normal(0, 16, 8), h.normal(1, 16, 8)
    h.assert_sharded_matches_full(
        lambda a, c, axis_name=None: (
            losses.debiased_info_nce(a, c, axis_name=axis_name)
            + 0.5 * losses.hard_negative_info_nce(a, c, axis_name=axis_name)),
        (z1, z2), (P("data"), P("data")))
