"""The small convnet pools only while the feature map stays at least 4x4, so 8x8 digits keep a
4x4 map while 28x28 MNIST keeps its two poolings (7x7, 3,136 features as before)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.models.convnet import ConvNet, pooled_blocks


@pytest.mark.parametrize("height, width, asked, pooled", [
    (28, 28, 2, 2), (8, 8, 2, 1), (8, 8, 1, 1), (4, 4, 2, 0), (32, 32, 3, 3), (16, 8, 2, 1),
    (28, 28, 0, 0)])
def test_pooled_blocks(height, width, asked, pooled):
    assert pooled_blocks(height, width, asked) == pooled


def reference_forward(model: ConvNet, x, num_pools: int) -> np.ndarray:
    """conv - BatchNorm (running stats: mean 0, var 1 at init) - ReLU - 2x2 max-pool by hand."""
    x = np.asarray(x, np.float64)
    for index, (conv, norm) in enumerate(zip(model.convs, model.norms)):
        x = np.asarray(jax.lax.conv_general_dilated(
            jnp.asarray(x, jnp.float32), conv.kernel[...], (1, 1), "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"), precision="highest"), np.float64)
        x = x / np.sqrt(1.0 + norm.epsilon) * np.asarray(norm.scale[...]) + np.asarray(
            norm.bias[...])
        x = np.maximum(x, 0.0)
        if index < num_pools:
            b, h, w, c = x.shape
            x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c).max((2, 4))
    return x.reshape(len(x), -1)


@pytest.mark.parametrize("size, num_pools", [(28, 2), (8, 1)])
def test_convnet_pools_while_the_map_allows(size, num_pools):
    model = ConvNet(in_shape=(size, size, 1), widths=(4, 8, 8), num_pooled=2,
                    rngs=nnx.Rngs(0))
    side = size // 2**num_pools
    assert model.feature_dim == side * side * 8
    x = np.random.default_rng(0).normal(size=(3, size, size, 1)).astype(np.float32)
    features = np.asarray(model(jnp.asarray(x), train=False))
    assert features.shape == (3, model.feature_dim)
    np.testing.assert_allclose(features, reference_forward(model, x, num_pools), rtol=1e-4,
                               atol=1e-5)


def _max_pool_reference(x):
    """float64 NumPy 2x2/2 max-pool and, for weights ``w`` on its output, the gradient of
    ``sum(w * pool(x))`` (``w`` at each window's arg-max; inputs without ties)."""
    b, h, w, c = x.shape
    out = np.zeros((b, h // 2, w // 2, c))
    where = np.zeros((b, h // 2, w // 2, c, 2), int)
    for i in range(h // 2):
        for j in range(w // 2):
            window = x[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2, :].reshape(b, 4, c)
            out[:, i, j] = window.max(axis=1)
            k = window.argmax(axis=1)
            where[:, i, j, :, 0], where[:, i, j, :, 1] = 2 * i + k // 2, 2 * j + k % 2
    return out, where


def test_max_pool_2x2_matches_a_reference_and_flax_with_its_gradient():
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from contrastive_jax.models.convnet import max_pool_2x2

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 9, 3)).astype(np.float32)  # odd sizes: the last row/column drop
    w = rng.normal(size=(2, 3, 4, 3)).astype(np.float32)
    expected, where = _max_pool_reference(x.astype(np.float64))
    np.testing.assert_array_equal(np.asarray(max_pool_2x2(jnp.asarray(x))), expected.astype(np.float32))
    grad = np.asarray(jax.grad(lambda v: jnp.sum(w * max_pool_2x2(v)))(jnp.asarray(x)))
    expected_grad = np.zeros_like(x)
    for bi, i, j, ci in np.ndindex(*w.shape):
        expected_grad[bi, where[bi, i, j, ci, 0], where[bi, i, j, ci, 1], ci] += w[bi, i, j, ci]
    np.testing.assert_array_equal(grad, expected_grad)
    flax_pool = lambda v: nnx.max_pool(v, (2, 2), strides=(2, 2))
    np.testing.assert_array_equal(np.asarray(flax_pool(jnp.asarray(x))), expected.astype(np.float32))
    flax_grad = jax.grad(lambda v: jnp.sum(w * flax_pool(v)))(jnp.asarray(x))
    np.testing.assert_array_equal(grad, np.asarray(flax_grad))
