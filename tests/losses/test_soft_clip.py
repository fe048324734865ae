import functools

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h
from tests.losses.test_clip import reference as clip_reference


def reference(image, text, scale, smoothing):
    """Cross-entropy against the explicit target matrix, both directions."""
    x, y = h.unit(image), h.unit(text)
    b = len(x)
    logits = scale * x @ y.T
    if b == 1:
        targets = np.ones((1, 1))
    else:
        targets = np.full((b, b), smoothing / (b - 1))
        np.fill_diagonal(targets, 1.0 - smoothing)
    row_log_p = logits - h.log_sum_exp(logits, axis=1)[:, None]
    column_log_p = logits - h.log_sum_exp(logits, axis=0)[None, :]
    image_to_text = -np.mean(np.sum(targets * row_log_p, axis=1))
    text_to_image = -np.mean(np.sum(targets.T * column_log_p.T, axis=1))
    return 0.5 * (image_to_text + text_to_image)


def soft_fn(x, y, s, a=0.2, axis_name=None, **kw):
    return losses.soft_target_clip(x, y, logit_scale=s, smoothing=a, axis_name=axis_name, **kw)


def test_matches_reference():
    cases = [(h.normal(0, b, d), h.normal(1, b, d), np.float32(s), np.float32(a))
             for b, d, s, a in [(1, 4, 14.3, 0.2), (2, 3, 1.0, 0.2), (7, 6, 14.3, 0.2),
                                (7, 6, 100.0, 0.5), (5, 6, 10.0, 0.0)]]
    h.assert_matches_reference(soft_fn, reference, cases, rtol=2e-5, atol=1e-6)


def test_no_smoothing_is_clip():
    x, y = h.normal(0, 6, 5), h.normal(1, 6, 5)
    h.assert_close(h.run(lambda a, c: soft_fn(a, c, 10.0, 0.0), x, y),
                   clip_reference(x, y, 10.0), rtol=2e-5)


def test_blockwise_form_gives_the_same_value_and_gradients():
    args = (h.normal(0, 7, 5), h.normal(1, 7, 5), np.float32(8.0))
    grad = lambda **kw: jax.value_and_grad(functools.partial(soft_fn, **kw), argnums=(0, 1, 2))
    (v_block, g_block), (v_dense, g_dense) = h.jit(
        lambda *a: (grad(block_size=3)(*a), grad()(*a)))(*args)
    h.assert_close(v_block, v_dense)
    for a, b in zip(g_block, g_dense):
        h.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_gradients_float64_including_the_scale():
    h.check_grads_x64(soft_fn, h.normal(0, 4, 5), h.normal(1, 4, 5), np.float64(3.0))


def test_invariances():
    x, y, s = h.normal(0, 7, 5), h.normal(1, 7, 5), np.float32(10.0)
    h.assert_invariant(soft_fn, (x, y, s), [h.permuted((x, y, s), (0, 0, None)),
                                            (h.row_scaled(x, 2), h.row_scaled(y, 3), s),
                                            (y, x, s)])


def test_smoothing_keeps_a_perfect_alignment_from_reaching_zero():
    """Orthogonal pairs: with targets ``a / (B - 1)`` on the negatives the minimum is the
    targets' entropy, not 0: the loss equals CE(softmax, targets) in closed form."""
    b, s, a = 4, 10.0, 0.2
    e = np.eye(b, 8, dtype=np.float32)
    log_z = np.log(np.exp(s) + (b - 1))
    expected = -((1 - a) * (s - log_z) + a * (0.0 - log_z))
    h.assert_close(h.run(lambda o: soft_fn(o, o, s, a), e), expected, rtol=1e-5)


def test_extremes_logit_scale_100_float32_and_bfloat16():
    x, y = h.normal(0, 6, 8), h.normal(1, 6, 8)
    h.assert_close(h.run(lambda p, q: soft_fn(p, q, 100.0), x, y),
                   reference(x, y, 100.0, 0.2), rtol=1e-4)
    h.assert_finite_value_and_grads(lambda p, q: soft_fn(p, q, 100.0), (x[:1], y[:1]),
                                    (x[:2], y[:2]))


def test_sharded_matches_full_batch():
    args = (h.normal(0, 16, 8), h.normal(1, 16, 8), np.float32(5.0))
    specs = (P("data"), P("data"), P())
    h.assert_sharded_matches_full(soft_fn, args, specs)


@pytest.mark.slow
def test_sharded_ring_matches_full_batch():
    args = (h.normal(0, 16, 8), h.normal(1, 16, 8), np.float32(5.0))
    specs = (P("data"), P("data"), P())
    ring = functools.partial(soft_fn, block_size=1, cross_device="ring")
    h.assert_sharded_matches_full(ring, args, specs)
