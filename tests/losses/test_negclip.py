import functools

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h
from tests.losses.test_clip import reference as clip_reference


def reference(image, text, negative, scale):
    """From the formula: image i's softmax runs over every caption and every hard negative;
    caption j's softmax over the images."""
    x, y, n = h.unit(image), h.unit(text), h.unit(negative)
    logits, hard = scale * x @ y.T, scale * x @ n.T
    b = len(x)
    image_to_text = np.mean([h.log_sum_exp(np.concatenate([logits[i], hard[i]])) - logits[i, i]
                             for i in range(b)])
    text_to_image = np.mean([h.log_sum_exp(logits[:, j]) - logits[j, j] for j in range(b)])
    return 0.5 * (image_to_text + text_to_image)


def negclip_fn(x, y, n, s, axis_name=None, **kw):
    return losses.negclip(x, y, n, logit_scale=s, axis_name=axis_name, **kw)


def test_matches_reference():
    cases = [(h.normal(0, b, d), h.normal(1, b, d), h.normal(2, m, d), np.float32(s))
             for b, m, d, s in [(1, 1, 4, 14.3), (2, 2, 3, 1.0), (7, 7, 6, 14.3),
                                (5, 3, 6, 100.0)]]
    h.assert_matches_reference(negclip_fn, reference, cases, rtol=2e-5)


def test_blockwise_form_gives_the_same_value_and_gradients():
    args = (h.normal(0, 7, 5), h.normal(1, 7, 5), h.normal(2, 7, 5), np.float32(8.0))
    grad = lambda **kw: jax.value_and_grad(functools.partial(negclip_fn, **kw),
                                           argnums=(0, 1, 2, 3))
    (v_block, g_block), (v_dense, g_dense) = h.jit(
        lambda *a: (grad(block_size=3)(*a), grad()(*a)))(*args)
    h.assert_close(v_block, v_dense)
    for a, b in zip(g_block, g_dense):
        h.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_gradients_float64_including_the_scale():
    h.check_grads_x64(negclip_fn, h.normal(0, 4, 5), h.normal(1, 4, 5), h.normal(2, 4, 5),
                      np.float64(3.0))


def test_invariances():
    x, y, n, s = h.normal(0, 7, 5), h.normal(1, 7, 5), h.normal(2, 7, 5), np.float32(10.0)
    order = np.random.default_rng(3).permutation(7)
    h.assert_invariant(negclip_fn, (x, y, n, s), [
        h.permuted((x, y, n, s), (0, 0, 0, None)),
        (x, y, n[order], s),  # every image sees every negative: their order does not matter
        (h.row_scaled(x, 2), h.row_scaled(y, 3), h.row_scaled(n, 4), s)])


def test_closed_forms():
    """Negatives that duplicate the captions double every image->text denominator (+log 2 on
    that direction); with orthonormal pairs and negatives orthogonal to every image (logit 0),
    image->text is log(1 + (2B - 1) e^-s) and text->image log(1 + (B - 1) e^-s)."""
    x, y = h.normal(0, 6, 4), h.normal(1, 6, 4)
    b, s = 5, 10.0
    e = np.eye(b, 8, dtype=np.float32)
    off = np.tile(np.eye(8, dtype=np.float32)[7], (b, 1))
    got = h.run(lambda a, c, o, n: [negclip_fn(a, c, c, 5.0), negclip_fn(o, o, n, s)],
                x, y, e, off)
    h.assert_close(got[0], clip_reference(x, y, 5.0) + 0.5 * np.log(2.0), rtol=2e-5)
    expected = 0.5 * (np.log1p((2 * b - 1) * np.exp(-s)) + np.log1p((b - 1) * np.exp(-s)))
    h.assert_close(got[1], expected, rtol=1e-3, atol=2e-6)


def test_extremes_logit_scale_100_float32_and_bfloat16():
    x, y, n = h.normal(0, 6, 8), h.normal(1, 6, 8), h.normal(2, 6, 8)
    h.assert_close(h.run(lambda a, c, m: negclip_fn(a, c, m, 100.0), x, y, n),
                   reference(x, y, n, 100.0), rtol=1e-4)
    h.assert_finite_value_and_grads(lambda a, c, m: negclip_fn(a, c, m, 100.0),
                                    (x[:1], y[:1], n[:1]), (x[:2], y[:2], n[:2]))


def test_sharded_matches_full_batch():
    args = (h.normal(0, 16, 8), h.normal(1, 16, 8), h.normal(2, 16, 8), np.float32(5.0))
    specs = (P("data"), P("data"), P("data"), P())
    h.assert_sharded_matches_full(negclip_fn, args, specs)


@pytest.mark.slow
def test_sharded_ring_matches_full_batch():
    args = (h.normal(0, 16, 8), h.normal(1, 16, 8), h.normal(2, 16, 8), np.float32(5.0))
    specs = (P("data"), P("data"), P("data"), P())
    ring = functools.partial(negclip_fn, block_size=1, cross_device="ring")
    h.assert_sharded_matches_full(ring, args, specs)
