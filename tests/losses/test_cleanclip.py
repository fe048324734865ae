import functools

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h
from tests.losses.test_clip import reference as clip_reference


def one_way(anchors, augmented, scale):
    a, b = h.unit(anchors), h.unit(augmented)
    logits = scale * a @ b.T
    return np.mean([h.log_sum_exp(logits[i]) - logits[i, i] for i in range(len(a))])


def reference(image, text, image_aug, text_aug, scale, clip_weight=1.0, inmodal_weight=1.0):
    inmodal = 0.5 * (one_way(image, image_aug, scale) + one_way(text, text_aug, scale))
    return clip_weight * clip_reference(image, text, scale) + inmodal_weight * inmodal


def cleanclip_fn(x, y, xa, ya, s, axis_name=None, **kw):
    return losses.cleanclip(x, y, xa, ya, logit_scale=s, axis_name=axis_name, **kw)


def _args(b, d, s, seed=0):
    return tuple(h.normal(seed + k, b, d) for k in range(4)) + (np.float32(s),)


def test_matches_reference():
    cases = [_args(b, d, s) for b, d, s in [(1, 4, 14.3), (2, 3, 1.0), (7, 6, 14.3),
                                            (6, 5, 100.0)]]
    h.assert_matches_reference(cleanclip_fn, reference, cases, rtol=2e-5)
    weighted = functools.partial(cleanclip_fn, clip_weight=0.5, inmodal_weight=2.0)
    case = _args(5, 4, 10.0, seed=7)
    h.assert_close(h.run(weighted, *case), reference(*case, clip_weight=0.5, inmodal_weight=2.0),
                   rtol=2e-5)


def test_blockwise_form_gives_the_same_value_and_gradients():
    args = _args(7, 5, 8.0)
    grad = lambda **kw: jax.value_and_grad(functools.partial(cleanclip_fn, **kw),
                                           argnums=(0, 1, 2, 3, 4))
    (v_block, g_block), (v_dense, g_dense) = h.jit(
        lambda *a: (grad(block_size=3)(*a), grad()(*a)))(*args)
    h.assert_close(v_block, v_dense)
    for a, b in zip(g_block, g_dense):
        h.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_gradients_float64_including_the_scale():
    x, y, xa, ya, _ = _args(4, 5, 1.0)
    h.check_grads_x64(cleanclip_fn, x, y, xa, ya, np.float64(3.0))


def test_invariant_to_a_joint_batch_permutation_and_to_norms():
    args = _args(7, 5, 10.0)
    x, y, xa, ya, s = args
    h.assert_invariant(cleanclip_fn, args, [
        h.permuted(args, (0, 0, 0, 0, None)),
        (h.row_scaled(x, 1), h.row_scaled(y, 2), h.row_scaled(xa, 3), h.row_scaled(ya, 4), s)])


def test_identical_augmentations_of_orthogonal_inputs_have_the_closed_form():
    b, s = 5, 10.0
    e = np.eye(b, 8, dtype=np.float32)
    single = np.log1p((b - 1) * np.exp(-s))
    h.assert_close(h.run(lambda o: cleanclip_fn(o, o, o, o, s), e), 2 * single, atol=4e-6)


def test_extremes_logit_scale_100_float32_and_bfloat16():
    x, y, xa, ya, _ = _args(6, 8, 1.0)
    fn = lambda a, b, c, d: cleanclip_fn(a, b, c, d, 100.0)
    h.assert_close(h.run(fn, x, y, xa, ya), reference(x, y, xa, ya, 100.0), rtol=1e-4)
    h.assert_finite_value_and_grads(fn, (x[:1], y[:1], xa[:1], ya[:1]),
                                    (x[:2], y[:2], xa[:2], ya[:2]))


def test_sharded_matches_full_batch():
    args = _args(16, 8, 5.0)
    specs = (P("data"),) * 4 + (P(),)
    h.assert_sharded_matches_full(cleanclip_fn, args, specs)


@pytest.mark.slow
def test_sharded_ring_matches_full_batch():
    args = _args(16, 8, 5.0)
    specs = (P("data"),) * 4 + (P(),)
    ring = functools.partial(cleanclip_fn, block_size=1, cross_device="ring")
    h.assert_sharded_matches_full(ring, args, specs)
