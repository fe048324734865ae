"""Cross-device ``block_size=`` forms under ``jax.shard_map`` on 8 simulated CPU devices.

Each equals the full-batch naive loss (value and gradient of every shard) with keys streamed
around a ring of ``ppermute`` steps or all-gathered. 3 rows per device with blocks of 2: every
ring step pads and masks a block.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h
from tests.losses.test_blockwise import LOSSES

BATCH, DIM, BLOCK = 3 * h.NUM_DEVICES, 5, 2
SHARDED = ["info_nce", "info_nce_queue", "nt_xent", "dcl", "dclw", "clip", "siglip", "supcon",
           "supcon_unlabelled"]


def _inputs():
    return h.normal(0, BATCH, DIM), h.normal(1, BATCH, DIM)


def _naive_with_axis(name):
    """The naive loss, taking (and ignoring) the ``axis_name`` the shard_map side gets."""
    return lambda a, c, axis_name=None: LOSSES[name](a, c)


@pytest.mark.parametrize("name", SHARDED)
def test_ring_equals_the_full_batch_naive_loss(name):
    ring = functools.partial(LOSSES[name], block_size=BLOCK, cross_device="ring")
    _assert_sharded_equals_naive(ring, name)


def _assert_sharded_equals_naive(blockwise_fn, name):
    """shard_map(blockwise_fn, axis_name='data') vs the naive full-batch loss."""
    x, y = _inputs()
    sharded = jax.shard_map(functools.partial(blockwise_fn, axis_name="data"), mesh=h.mesh(),
                            in_specs=(P("data"), P("data")), out_specs=P())

    @h.jit
    def both(a, c):
        return (jax.value_and_grad(sharded, argnums=(0, 1))(a, c),
                jax.value_and_grad(LOSSES[name], argnums=(0, 1))(a, c))

    (value_s, grads_s), (value_f, grads_f) = both(x, y)
    h.assert_close(value_s, value_f, rtol=1e-5, atol=1e-6, err_msg=name)
    for g_s, g_f in zip(grads_s, grads_f):
        scale = float(np.max(np.abs(np.asarray(g_f))))
        assert scale > 0, "full-batch gradient is identically zero"
        h.assert_close(g_s, g_f, rtol=1e-5, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("name", ["info_nce_queue", "clip", "siglip", "supcon"])
def test_all_gather_equals_the_full_batch_naive_loss(name):
    gather = functools.partial(LOSSES[name], block_size=BLOCK, cross_device="all_gather")
    _assert_sharded_equals_naive(gather, name)


def test_ring_equals_the_sharded_naive_form_with_scale_and_bias_gradients():
    # Gradients of the replicated scalars are sums over devices: both forms must agree on them.
    x, y = _inputs()

    def loss(a, c, s, b, axis_name, block_size):
        kw = dict(axis_name=axis_name, block_size=block_size)
        return (losses.clip(a, c, logit_scale=s, **kw)
                + losses.siglip(a, c, logit_scale=s, logit_bias=b, **kw))

    def sharded(block_size):
        return jax.shard_map(functools.partial(loss, axis_name="data", block_size=block_size),
                             mesh=h.mesh(), in_specs=(P("data"), P("data"), P(), P()),
                             out_specs=P())

    grads = h.jit(lambda *a: [jax.value_and_grad(sharded(bs), argnums=(0, 1, 2, 3))(*a)
                              for bs in (BLOCK, None)])
    (value_r, grads_r), (value_n, grads_n) = grads(x, y, np.float32(8.0), np.float32(-3.0))
    h.assert_close(value_r, value_n, rtol=1e-5)
    for g_r, g_n in zip(grads_r, grads_n):
        h.assert_close(g_r, g_n, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(g_n))))


def _compiled_text(cross_device):
    fn = functools.partial(LOSSES["clip"], block_size=BLOCK, cross_device=cross_device,
                           axis_name="data")
    sharded = jax.shard_map(fn, mesh=h.mesh(), in_specs=(P("data"), P("data")), out_specs=P())
    x = jax.ShapeDtypeStruct((BATCH, DIM), jnp.float32)
    grad = jax.jit(jax.value_and_grad(sharded, argnums=(0, 1)))
    return grad.lower(x, x).compile().as_text()


def test_ring_never_gathers_the_keys_and_all_gather_does():
    ring, gather = _compiled_text("ring"), _compiled_text("all_gather")
    assert "collective-permute" in ring and "all-gather" not in ring
    assert "all-gather" in gather and "collective-permute" not in gather
