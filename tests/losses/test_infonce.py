import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference_info_nce(query, key, temperature, extra=None, normalize=True):
    prep = h.unit if normalize else (lambda x: np.asarray(x, np.float64))
    q, k = prep(query), prep(key)
    total = 0.0
    for i in range(len(q)):
        candidates = list(k)
        if extra is not None:
            candidates += list(prep(extra if np.ndim(extra) == 2 else extra[i]))
        logits = np.array([q[i] @ c for c in candidates]) / temperature
        total += h.log_sum_exp(logits) - q[i] @ k[i] / temperature
    return total / len(q)


def reference_nt_xent(z1, z2, temperature):
    z = np.concatenate([h.unit(z1), h.unit(z2)])
    n, b = len(z), len(z1)
    total = 0.0
    for a in range(n):
        logits = np.array([z[a] @ z[k] for k in range(n) if k != a]) / temperature
        total += h.log_sum_exp(logits) - z[a] @ z[(a + b) % n] / temperature
    return total / n


def test_info_nce_matches_reference():
    shapes_and_settings = [(1, 4, 0.1, True), (2, 3, 0.05, True), (9, 16, 0.1, True),
                           (2, 3, 1.0, False), (9, 16, 0.5, False)]
    for normalize in (True, False):
        cases = [(0.3 * h.normal(0, b, d), 0.3 * h.normal(1, b, d), np.float32(t))
                 for b, d, t, n in shapes_and_settings if n == normalize]
        h.assert_matches_reference(
            lambda q, k, t: losses.info_nce(q, k, temperature=t, normalize=normalize),
            lambda q, k, t: reference_info_nce(q, k, t, normalize=normalize), cases)


def test_info_nce_extra_negatives_match_reference():
    b, d, k_extra = 4, 6, 5
    q, k = h.normal(0, b, d), h.normal(1, b, d)
    cases = [(q, k, h.normal(2, k_extra, d)), (q, k, h.normal(3, b, k_extra, d))]
    h.assert_matches_reference(
        lambda a, c, e: losses.info_nce(a, c, temperature=0.2, extra_negatives=e),
        lambda a, c, e: reference_info_nce(a, c, 0.2, e), cases)


def test_info_nce_rejects_misshaped_extra_negatives():
    q = h.normal(0, 4, 6)
    with pytest.raises(ValueError, match="extra_negatives"):
        losses.info_nce(q, q, extra_negatives=h.normal(1, 3, 2, 6))


def test_nt_xent_matches_reference():
    cases = [(h.normal(0, b, d), h.normal(1, b, d), np.float32(t))
             for b, d, t in [(1, 4, 0.5), (2, 3, 0.1), (9, 5, 0.5), (9, 5, 0.1)]]
    h.assert_matches_reference(lambda a, c, t: losses.nt_xent(a, c, temperature=t),
                               reference_nt_xent, cases)


def test_batch_of_one_has_no_negatives_and_zero_loss():
    z1, z2 = h.normal(0, 1, 4), h.normal(1, 1, 4)
    got = h.run(lambda a, c: [losses.info_nce(a, c), losses.nt_xent(a, c)], z1, z2)
    h.assert_close(got, [0.0, 0.0], atol=1e-6)


def test_gradients_float64():
    q, k, extra = h.normal(0, 4, 5), h.normal(1, 4, 5), h.normal(2, 4, 3, 5)
    h.check_grads_x64(lambda a, b, e: (losses.info_nce(a, b, temperature=0.3, extra_negatives=e)
                                       + losses.nt_xent(a, b, temperature=0.3)), q, k, extra)


def test_invariances():
    q, k, extra = h.normal(0, 7, 5), h.normal(1, 7, 5), h.normal(2, 7, 3, 5)
    h.assert_invariant(
        lambda a, c, e: losses.info_nce(a, c, extra_negatives=e), (q, k, extra),
        [h.permuted((q, k, extra), (0, 0, 0)),
         (h.row_scaled(q, 3), h.row_scaled(k, 4), h.row_scaled(extra, 5))])
    h.assert_invariant(losses.nt_xent, (q, k),
                       [h.permuted((q, k), (0, 0)), (h.row_scaled(q, 3), h.row_scaled(k, 4)),
                        (k, q)])


def test_closed_forms():
    b, t = 5, 0.2
    orthogonal, collapsed = np.eye(b, 8, dtype=np.float32), np.ones((b, 8), np.float32)

    def all_losses(o, c):
        return [losses.info_nce(o, o, temperature=t), losses.nt_xent(o, o, temperature=t),
                losses.info_nce(c, c, temperature=t), losses.nt_xent(c, c, temperature=t)]

    # Identical positives, other examples orthogonal: only the positive has similarity 1.
    expected = [np.log1p((b - 1) * np.exp(-1 / t)), np.log1p((2 * b - 2) * np.exp(-1 / t)),
                np.log(b), np.log(2 * b - 1)]
    h.assert_close(h.run(all_losses, orthogonal, collapsed), expected)


def test_extremes_low_temperature_float32_and_bfloat16():
    q, k = h.normal(0, 6, 8), h.normal(1, 6, 8)
    # Logits of magnitude 100 carry float32 rounding of ~1e-5 absolute, hence rtol 1e-4.
    got = h.run(lambda a, c: [losses.info_nce(a, c, temperature=0.01),
                              losses.nt_xent(a, c, temperature=0.01)], q, k)
    h.assert_close(got, [reference_info_nce(q, k, 0.01), reference_nt_xent(q, k, 0.01)],
                   rtol=1e-4)
    both = lambda a, c: (losses.info_nce(a, c, temperature=0.01)
                         + losses.nt_xent(a, c, temperature=0.01))
    h.assert_finite_value_and_grads(both, (q[:1], k[:1]), (q[:2], k[:2]))


def test_sharded_matches_full_batch():
    q, k = h.normal(0, 16, 8), h.normal(1, 16, 8)
    shared, per_query = h.normal(2, 5, 8), h.normal(3, 16, 3, 8)

    def with_extras(a, c, s, p, axis_name=None):
        return (losses.info_nce(a, c, temperature=0.2, extra_negatives=s, axis_name=axis_name)
                + losses.info_nce(a, c, temperature=0.2, extra_negatives=p, axis_name=axis_name))

    h.assert_sharded_matches_full(with_extras, (q, k, shared, per_query),
                                  (P("data"), P("data"), P(), P("data")))
    h.assert_sharded_matches_full(losses.nt_xent, (q, k), (P("data"), P("data")))
