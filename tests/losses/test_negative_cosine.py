import jax
import numpy as np

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(p, z):
    return -np.mean(np.sum(h.unit(p) * h.unit(z), axis=-1))


def test_matches_reference():
    cases = [(h.normal(0, b, d), h.normal(1, b, d)) for b, d in [(1, 4), (2, 3), (9, 16)]]
    h.assert_matches_reference(losses.negative_cosine, reference, cases)


def test_gradient_reaches_the_prediction_only():
    p, z = h.normal(0, 4, 5), h.normal(1, 4, 5)
    h.check_grads_x64(lambda a: losses.negative_cosine(a, z), p)
    grad_p, grad_z = h.run(jax.grad(losses.negative_cosine, argnums=(0, 1)), p, z)
    assert np.any(grad_p != 0) and np.all(grad_z == 0)


def test_invariances_and_closed_forms():
    p, z = h.normal(0, 7, 5), h.normal(1, 7, 5)
    h.assert_invariant(losses.negative_cosine, (p, z),
                       [h.permuted((p, z), (0, 0)), (h.row_scaled(p, 2), h.row_scaled(z, 3))])
    same, opposite = h.run(lambda a: [losses.negative_cosine(a, 3 * a),
                                      losses.negative_cosine(a, -a)], p)
    h.assert_close([same, opposite], [-1.0, 1.0])


def test_extremes_float32_and_bfloat16():
    p, z = h.normal(0, 2, 8), h.normal(1, 2, 8)
    h.assert_finite_value_and_grads(losses.negative_cosine, (p[:1], z[:1]), (p, z))
