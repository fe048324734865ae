import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(image, text, scale):
    x, y = h.unit(image), h.unit(text)
    b = len(x)
    logits = scale * np.array([[x[i] @ y[j] for j in range(b)] for i in range(b)])
    image_to_text = np.mean([h.log_sum_exp(logits[i]) - logits[i, i] for i in range(b)])
    text_to_image = np.mean([h.log_sum_exp(logits[:, j]) - logits[j, j] for j in range(b)])
    return 0.5 * (image_to_text + text_to_image)


def clip_fn(x, y, s, axis_name=None):
    return losses.clip(x, y, logit_scale=s, axis_name=axis_name)


def test_matches_reference():
    cases = [(h.normal(0, b, d), h.normal(1, b, d), np.float32(s))
             for b, d, s in [(1, 4, 14.3), (2, 3, 1.0), (7, 6, 14.3), (7, 6, 100.0)]]
    h.assert_matches_reference(clip_fn, reference, cases, rtol=2e-5)


def test_gradients_float64_including_the_scale():
    h.check_grads_x64(clip_fn, h.normal(0, 4, 5), h.normal(1, 4, 5), np.float64(3.0))


def test_invariances():
    x, y, s = h.normal(0, 7, 5), h.normal(1, 7, 5), np.float32(10.0)
    h.assert_invariant(clip_fn, (x, y, s), [h.permuted((x, y, s), (0, 0, None)),
                                            (h.row_scaled(x, 2), h.row_scaled(y, 3), s),
                                            (y, x, s)])


def test_closed_forms():
    b, s = 5, 10.0
    orthogonal, collapsed = np.eye(b, 8, dtype=np.float32), np.ones((b, 8), np.float32)
    got = h.run(lambda o, c: [clip_fn(o, o, s), clip_fn(c, c, s)], orthogonal, collapsed)
    # The first value (1.8e-4) is a difference of two logs near 10: float32 resolves it to ~1e-6.
    h.assert_close(got, [np.log1p((b - 1) * np.exp(-s)), np.log(b)], atol=2e-6)


def test_extremes_logit_scale_100_float32_and_bfloat16():
    x, y = h.normal(0, 6, 8), h.normal(1, 6, 8)
    h.assert_close(h.run(lambda a, c: clip_fn(a, c, 100.0), x, y), reference(x, y, 100.0),
                   rtol=1e-4)
    h.assert_finite_value_and_grads(lambda a, c: clip_fn(a, c, 100.0), (x[:1], y[:1]),
                                    (x[:2], y[:2]))


def test_sharded_matches_full_batch():
    x, y = h.normal(0, 16, 8), h.normal(1, 16, 8)
    h.assert_sharded_matches_full(clip_fn, (x, y, np.float32(5.0)), (P("data"), P("data"), P()))
