"""TS2Vec's dilated convolutional encoder: shapes, the paper's size, masking equivalences
(padding == the cut-out series, a crop == the cropped series) and the receptive field."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax.models.ts2vec import TS2VecEncoder


def _timestamps(enc, *args, **kwargs):
    return nnx.jit(lambda e, *a: e.timestamps(*a, **kwargs))(enc, *args)


def _pooled(enc, *args):
    return nnx.jit(lambda e, *a: e(*a))(enc, *args)


def _encoder(c=2, **kwargs):
    options = dict(hidden_dim=8, depth=3, output_dim=12)
    options.update(kwargs)
    return TS2VecEncoder(in_shape=(32, c), rngs=nnx.Rngs(0), **options)


def test_paper_size_and_shapes():
    enc = nnx.eval_shape(lambda: TS2VecEncoder(in_shape=(150, 1), rngs=nnx.Rngs(0)))
    params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(enc, nnx.Param)))
    # input_fc 1->64; 10 blocks of two 64x64x3 convs; a final block 64->320 (2 convs) with a
    # 1x1 projection of the residual
    expected = (64 + 64) + 10 * 2 * (64 * 64 * 3 + 64) + (64 * 320 * 3 + 320) + (
        320 * 320 * 3 + 320) + (64 * 320 + 320)
    assert params == expected and enc.feature_dim == 320
    shapes = nnx.eval_shape(lambda e: (e.timestamps(jnp.ones((2, 150, 1)), train=False),
                                       e(jnp.ones((2, 150, 1)))), enc)
    assert shapes[0].shape == (2, 150, 320) and shapes[1].shape == (2, 320)


def test_padding_with_a_mask_equals_the_unpadded_series():
    enc = _encoder()
    x = np.random.default_rng(0).standard_normal((1, 20, 2)).astype(np.float32)
    padded = np.concatenate([x, np.full((1, 12, 2), 7.0, np.float32)], axis=1)  # junk padding
    mask = np.arange(32)[None] < 20
    short = TS2VecEncoder(in_shape=(20, 2), hidden_dim=8, depth=3, output_dim=12,
                          rngs=nnx.Rngs(0))
    long_steps = np.asarray(_timestamps(enc, padded, mask, train=False))
    np.testing.assert_allclose(long_steps[:, :20], _timestamps(short, x, train=False),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_pooled(enc, padded, mask), long_steps[:, :20].max(axis=1),
                               rtol=1e-6)
    assert (long_steps[:, 20:] == 0).all()


def test_timestamp_mask_zeroes_the_projected_input():
    enc = _encoder()
    x = np.random.default_rng(1).standard_normal((2, 32, 2)).astype(np.float32)
    keep = np.ones((2, 32), bool)
    keep[:, 10] = False
    changed = x.copy()
    changed[:, 10] += 100.0  # a masked step's value cannot matter
    a = _timestamps(enc, x, None, keep=keep, train=True)
    b = _timestamps(enc, changed, None, keep=keep, train=True)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_receptive_field_of_the_dilated_stack():
    enc = _encoder(c=1, depth=2)  # dilations 1, 2 and 4 (final block): reach 2*(1+2+4) = 14
    graphdef, state = nnx.split(enc)
    grad = jax.jit(jax.grad(lambda x: nnx.merge(graphdef, state).timestamps(
        x, train=False)[0, 16].sum()))(jnp.ones((1, 32, 1)))
    reached = np.nonzero(np.asarray(grad)[0, :, 0])[0]
    assert reached.min() == 16 - 14 and reached.max() == 16 + 14
