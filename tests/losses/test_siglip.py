import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(image, text, scale, bias):
    x, y = h.unit(image), h.unit(text)
    b = len(x)
    total = 0.0
    for i in range(b):
        for j in range(b):
            label = 1.0 if i == j else -1.0
            total -= h.log_sigmoid(label * (scale * x[i] @ y[j] + bias))
    return total / b


def siglip_fn(x, y, s, b, axis_name=None):
    return losses.siglip(x, y, logit_scale=s, logit_bias=b, axis_name=axis_name)


def test_matches_reference():
    cases = [(h.normal(0, n, d), h.normal(1, n, d), np.float32(s), np.float32(b))
             for n, d, s, b in [(1, 4, 10.0, -10.0), (2, 3, 1.0, 0.5), (7, 6, 10.0, -10.0),
                                (7, 6, 100.0, -3.0)]]
    h.assert_matches_reference(siglip_fn, reference, cases)


def test_gradients_float64_including_scale_and_bias():
    h.check_grads_x64(siglip_fn, h.normal(0, 4, 5), h.normal(1, 4, 5), np.float64(3.0),
                      np.float64(-1.5))


def test_invariances():
    x, y, s, b = h.normal(0, 7, 5), h.normal(1, 7, 5), np.float32(10.0), np.float32(-2.0)
    h.assert_invariant(siglip_fn, (x, y, s, b),
                       [h.permuted((x, y, s, b), (0, 0, None, None)),
                        (h.row_scaled(x, 2), h.row_scaled(y, 3), s, b), (y, x, s, b)])


def test_closed_form_with_known_similarities():
    # Matched pairs identical (cosine 1), all other pairs orthogonal (cosine 0).
    n, s, b = 5, 10.0, -4.0
    orthogonal = np.eye(n, 8, dtype=np.float32)
    softplus = lambda v: np.logaddexp(0.0, v)
    expected = softplus(-(s + b)) + (n - 1) * softplus(b)
    h.assert_close(h.run(lambda o: siglip_fn(o, o, s, b), orthogonal), expected)


def test_extremes_logit_scale_100_float32_and_bfloat16():
    x, y = h.normal(0, 6, 8), h.normal(1, 6, 8)
    h.assert_close(h.run(lambda a, c: siglip_fn(a, c, 100.0, -10.0), x, y),
                   reference(x, y, 100.0, -10.0), rtol=1e-4)
    h.assert_finite_value_and_grads(lambda a, c: siglip_fn(a, c, 100.0, -10.0), (x[:1], y[:1]),
                                    (x[:2], y[:2]))


def test_sharded_matches_full_batch_divides_by_the_global_batch():
    x, y = h.normal(0, 16, 8), h.normal(1, 16, 8)
    h.assert_sharded_matches_full(siglip_fn, (x, y, np.float32(5.0), np.float32(-2.0)),
                                  (P("data"), P("data"), P(), P()))
