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
