import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(z1, z2, temperature, sigma=None):
    """DCL / DCLW from the formula; B = 1 keeps only the alignment term (our documented choice)."""
    a1, a2 = h.unit(z1), h.unit(z2)
    b = len(a1)
    weights = np.ones(b)
    if sigma is not None:
        e = np.exp(np.sum(a1 * a2, axis=1) / sigma)
        weights = 2 - b * e / e.sum()
    z = np.concatenate([a1, a2])
    total = 0.0
    for a in range(2 * b):
        positive = (a + b) % (2 * b)
        total -= weights[a % b] * z[a] @ z[positive] / temperature
        negatives = [z[a] @ z[k] / temperature for k in range(2 * b) if k not in (a, positive)]
        if negatives:
            total += h.log_sum_exp(np.array(negatives))
    return total / (2 * b)


def test_matches_reference():
    cases = [(h.normal(0, b, d), h.normal(1, b, d), np.float32(t), np.float32(sigma))
             for b, d, t, sigma in [(1, 4, 0.1, 0.5), (2, 3, 0.5, 2.0), (7, 5, 0.1, 0.5),
                                    (7, 5, 0.5, 2.0)]]
    h.assert_matches_reference(lambda a, c, t, s: losses.dcl(a, c, temperature=t),
                               lambda a, c, t, s: reference(a, c, t), cases)
    h.assert_matches_reference(lambda a, c, t, s: losses.dclw(a, c, temperature=t, sigma=s),
                               reference, cases)


def test_gradients_float64_flow_through_the_weights():
    z1, z2 = h.normal(0, 4, 5), h.normal(1, 4, 5)
    # Finite differences see the DCLW weights move: this passes only if they are not
    # stop-gradient (the reference implementation's choice).
    h.check_grads_x64(lambda a, c: (losses.dcl(a, c, temperature=0.3)
                                    + losses.dclw(a, c, temperature=0.3, sigma=0.5)), z1, z2)


def test_invariances():
    z1, z2 = h.normal(0, 7, 5), h.normal(1, 7, 5)
    variants = [h.permuted((z1, z2), (0, 0)), (h.row_scaled(z1, 3), h.row_scaled(z2, 4)),
                (z2, z1)]
    h.assert_invariant(losses.dcl, (z1, z2), variants)
    h.assert_invariant(losses.dclw, (z1, z2), variants)


def test_closed_forms():
    b, t = 5, 0.2
    orthogonal, collapsed = np.eye(b, 8, dtype=np.float32), np.ones((b, 8), np.float32)

    def all_losses(o, c):
        return [losses.dcl(o, o, temperature=t), losses.dclw(o, o, temperature=t),
                losses.dcl(c, c, temperature=t), losses.dclw(c, c, temperature=t)]

    # Identical positives (equal weights w = 1) and 2B - 2 negatives of similarity 0 or 1.
    expected = [-1 / t + np.log(2 * b - 2)] * 2 + [np.log(2 * b - 2)] * 2
    h.assert_close(h.run(all_losses, orthogonal, collapsed), expected)


def test_extremes_low_temperature_float32_and_bfloat16():
    z1, z2 = h.normal(0, 6, 8), h.normal(1, 6, 8)
    got = h.run(lambda a, c: [losses.dcl(a, c, temperature=0.01),
                              losses.dclw(a, c, temperature=0.01)], z1, z2)
    h.assert_close(got, [reference(z1, z2, 0.01), reference(z1, z2, 0.01, 0.5)], rtol=1e-4)
    both = lambda a, c: losses.dcl(a, c, temperature=0.01) + losses.dclw(a, c, temperature=0.01)
    h.assert_finite_value_and_grads(both, (z1[:1], z2[:1]), (z1[:2], z2[:2]))


def test_sharded_matches_full_batch():
    z1, z2 = h.normal(0, 16, 8), h.normal(1, 16, 8)
    h.assert_sharded_matches_full(
        lambda a, c, axis_name=None: (losses.dcl(a, c, axis_name=axis_name)
                                      + 0.5 * losses.dclw(a, c, axis_name=axis_name)),
        (z1, z2), (P("data"), P("data")))
