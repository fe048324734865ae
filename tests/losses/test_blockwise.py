"""The ``block_size=`` (memory-efficient exact) forms of the similarity losses, on one device.

References: the naive forms (each tested against NumPy in its own test file) for values and
gradients over odd sizes, padding and B = 1; the NumPy float64 references of those files at one
size; finite differences in float64 for the custom VJP; the compiled program's temporary memory
for the O(B * block) claim. Cross-device forms: ``test_blockwise_ring.py``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax import losses
from contrastive_jax.losses import blockwise
from tests.losses import helpers as h
from tests.losses import test_clip, test_dcl, test_infonce, test_siglip, test_supcon

QUEUE = h.normal(7, 5, 8)  # a shared [K, D] queue; sliced to D


def _labels(n):
    return np.arange(n) % 3


# name -> fn(z1, z2, **kw) with settings covering ordinary and extreme hyperparameters.
LOSSES = {
    "info_nce": lambda a, b, **kw: losses.info_nce(a, b, temperature=0.05, **kw),
    "info_nce_queue": lambda a, b, **kw: losses.info_nce(
        a, b, temperature=0.2, extra_negatives=QUEUE[:, :a.shape[1]], **kw),
    "info_nce_per_query": lambda a, b, **kw: losses.info_nce(
        a, b, temperature=0.2, extra_negatives=jnp.stack([jnp.roll(b, 1, axis=1), -a], axis=1),
        **kw),
    "nt_xent": lambda a, b, **kw: losses.nt_xent(a, b, temperature=0.01, **kw),
    "dcl": lambda a, b, **kw: losses.dcl(a, b, temperature=0.1, **kw),
    "dclw": lambda a, b, **kw: losses.dclw(a, b, temperature=0.1, sigma=0.5, **kw),
    "clip": lambda a, b, **kw: losses.clip(a, b, logit_scale=100.0, **kw),
    "siglip": lambda a, b, **kw: losses.siglip(a, b, logit_scale=10.0, logit_bias=-10.0, **kw),
    "supcon": lambda a, b, **kw: losses.supcon(
        jnp.stack([a, b], axis=1), _labels(a.shape[0]), temperature=0.01, **kw),
    "supcon_unlabelled": lambda a, b, **kw: losses.supcon(jnp.stack([a, b], axis=1), **kw),
}

# (B, D, block_size): B = 1 with a block larger than B, B not a multiple of the block (the last
# block is padded and masked), and an exact multiple.
SIZES = [(1, 4, 3), (7, 6, 3), (8, 5, 4)]


def _assert_same(got, want, label):
    (value_g, grads_g), (value_w, grads_w) = got, want
    # Absolute slack of one float32 rounding of logits up to 100 (B = 1 values are 0).
    h.assert_close(value_g, value_w, rtol=1e-5, atol=1e-6, err_msg=label)
    for g, w in zip(grads_g, grads_w):
        scale = float(np.max(np.abs(np.asarray(w, np.float32))))
        h.assert_close(g, w, rtol=1e-5, atol=1e-5 * scale + 1e-7, err_msg=label)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_values_and_gradients_equal_the_naive_form(name):
    fn = LOSSES[name]
    cases = [(h.normal(b * d, b, d), h.normal(b * d + 1, b, d)) for b, d, _ in SIZES]

    def both(cs):
        grad = lambda **kw: jax.value_and_grad(lambda a, c: fn(a, c, **kw), argnums=(0, 1))
        return [(grad(block_size=bs)(*c), grad()(*c)) for c, (_, _, bs) in zip(cs, SIZES)]

    for size, (got, want) in zip(SIZES, h.jit(both)(cases)):
        assert got[0].dtype == jnp.float32
        _assert_same(got, want, (name, size))


def test_values_match_the_numpy_float64_references():
    x, y = h.normal(0, 9, 7), h.normal(1, 9, 7)
    features, labels = np.stack([x, y], axis=1), _labels(9)
    kw = dict(block_size=4)
    got = h.run(lambda a, c, f: [
        losses.info_nce(a, c, temperature=0.1, extra_negatives=QUEUE[:, :7], **kw),
        losses.nt_xent(a, c, temperature=0.1, **kw),
        losses.dcl(a, c, temperature=0.1, **kw),
        losses.dclw(a, c, temperature=0.1, sigma=0.5, **kw),
        losses.clip(a, c, logit_scale=14.3, **kw),
        losses.siglip(a, c, logit_scale=10.0, logit_bias=-10.0, **kw),
        losses.supcon(f, labels, temperature=0.1, base_temperature=0.07, **kw)], x, y, features)
    want = [test_infonce.reference_info_nce(x, y, 0.1, QUEUE[:, :7]),
            test_infonce.reference_nt_xent(x, y, 0.1),
            test_dcl.reference(x, y, 0.1), test_dcl.reference(x, y, 0.1, sigma=0.5),
            test_clip.reference(x, y, 14.3), test_siglip.reference(x, y, 10.0, -10.0),
            test_supcon.reference(features, labels, 0.1, 0.07)]
    h.assert_close(got, want, rtol=2e-5)


def test_custom_vjp_matches_finite_differences_in_float64():
    x, y, labels = h.normal(0, 5, 4), h.normal(1, 5, 4), _labels(5)

    def combined(a, c, s, b):  # distinct weights: one wrong gradient cannot cancel another
        kw = dict(block_size=2)
        return (losses.clip(a, c, logit_scale=s, **kw)
                + 0.7 * losses.siglip(a, c, logit_scale=s, logit_bias=b, **kw)
                + 1.3 * losses.supcon(jnp.stack([a, c], 1), labels, temperature=0.5, **kw)
                + 0.5 * losses.dcl(a, c, temperature=0.5, **kw)
                + 0.9 * losses.info_nce(a, c, temperature=0.5, extra_negatives=QUEUE[:, :4],
                                        **kw))

    h.check_grads_x64(combined, x, y, np.float64(3.0), np.float64(-1.5))


def test_bfloat16_inputs_give_float32_values_and_finite_gradients():
    x, y = h.normal(0, 3, 8), h.normal(1, 3, 8)
    for name in ("clip", "siglip", "nt_xent", "supcon"):
        fn = lambda a, c, name=name: LOSSES[name](a, c, block_size=2)
        h.assert_finite_value_and_grads(fn, (x[:1], y[:1]), (x[:3], y[:3]))
    # Both forms upcast the same bfloat16 values, so they agree to float32 rounding.
    xb, yb = jnp.asarray(x, jnp.bfloat16), jnp.asarray(y, jnp.bfloat16)
    got = h.run(lambda a, c: [LOSSES["clip"](a, c, block_size=2), LOSSES["clip"](a, c)], xb, yb)
    h.assert_close(got[0], got[1], rtol=1e-5)


def _temporary_bytes(fn, *shapes):
    args = [jax.ShapeDtypeStruct(s, jnp.float32) for s in shapes]
    grad = jax.jit(jax.value_and_grad(fn, argnums=tuple(range(len(args)))))
    return grad.lower(*args).compile().memory_analysis().temp_size_in_bytes


@pytest.mark.parametrize("name", ["clip", "siglip", "supcon"])
def test_compiled_memory_is_linear_in_the_batch(name):
    batch, dim, block = 4096, 8, 64
    square = batch * batch * 4  # one [B, B] float32 matrix
    blockwise_bytes = _temporary_bytes(
        lambda a, c: LOSSES[name](a, c, block_size=block), (batch, dim), (batch, dim))
    naive_bytes = _temporary_bytes(LOSSES[name], (batch, dim), (batch, dim))
    assert naive_bytes >= square, naive_bytes  # the measurement does see a [B, B] matrix
    # supcon's keys are the 2B views: tiles are [2B, block]; allow a handful of them.
    assert blockwise_bytes < 16 * (2 * batch) * block * 4, blockwise_bytes
    assert blockwise_bytes < square / 8, blockwise_bytes


def test_kernel_statistics_against_numpy():
    q, k = h.normal(0, 6, 3), h.normal(1, 5, 3)
    self_index, target = np.array([0, 1, 2, 3, 4, -1]), np.array([1, 2, 3, 4, 0, 2])
    q_label, k_label = np.array([0, 1, 1, 2, 0, 3]), np.array([1, 0, 2, 1, 1])
    kw = dict(block_size=2, self_index=self_index, exclude_self=True)
    by_target, by_label, sig = h.run(lambda a, c: [
        blockwise.softmax_statistics(a, c, target=target, exclude_target=True, columns=True,
                                     **kw),
        blockwise.softmax_statistics(a, c, query_labels=q_label, key_labels=k_label, **kw),
        blockwise.sigmoid_row_sums(a, c, -1.0, block_size=2, target=target)], q, k)
    s = q.astype(np.float64) @ k.T.astype(np.float64)
    keys = np.arange(5)[None, :]
    not_self = keys != self_index[:, None]
    keep = not_self & (keys != target[:, None])
    h.assert_close(by_target.row_lse, [h.log_sum_exp(r[m]) for r, m in zip(s, keep)])
    h.assert_close(by_target.positive_sum, s[np.arange(6), target])
    h.assert_close(by_target.positive_count, np.ones(6))
    h.assert_close(by_target.column_lse, h.log_sum_exp(s.T))
    positive = not_self & (q_label[:, None] == k_label[None, :])
    h.assert_close(by_label.row_lse, [h.log_sum_exp(r[m]) for r, m in zip(s, not_self)])
    h.assert_close(by_label.positive_sum, np.sum(np.where(positive, s, 0), axis=1))
    h.assert_close(by_label.positive_count, positive.sum(axis=1))
    signs = np.where(keys == target[:, None], 1.0, -1.0)
    h.assert_close(sig, -np.sum(h.log_sigmoid(signs * (s - 1.0)), axis=1))


def test_rejects_bad_block_size_and_cross_device():
    x = h.normal(0, 4, 3)
    for bad in (0, -2, 2.0):
        with pytest.raises(ValueError, match="block_size"):
            losses.clip(x, x, logit_scale=1.0, block_size=bad)
    with pytest.raises(ValueError, match="cross_device"):
        losses.nt_xent(x, x, block_size=2, cross_device="tree")
