"""ViT: parameter counts against the published models, pooling, and attention vs NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.models import ViT, vit_b, vit_s, vit_ti
from contrastive_jax.models.transformer import SelfAttention
from tests.models.helpers import fast_build


def param_count(module) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(module, nnx.Param)))


# timm's vit_{tiny,small,base}_patch16_224 have 5,717,416 / 22,050,664 / 86,567,656 parameters
# with the 1000-way head (width * 1000 + 1000), which the encoder does not have.
@pytest.mark.parametrize("constructor, width, with_head", [
    (vit_ti, 192, 5_717_416), (vit_s, 384, 22_050_664), (vit_b, 768, 86_567_656)])
def test_param_count_matches_timm(constructor, width, with_head):
    model = nnx.eval_shape(lambda: constructor(in_shape=(224, 224, 3), rngs=nnx.Rngs(0)))
    assert param_count(model) == with_head - (width * 1000 + 1000)
    assert model.feature_dim == width


def tiny_vit(pool="cls", **kwargs):
    return fast_build(lambda: ViT(in_shape=(8, 8, 1), patch_size=4, width=16, depth=1,
                                  num_heads=2, pool=pool, rngs=nnx.Rngs(0), **kwargs))


def test_shapes_and_pooling():
    x = jax.random.normal(jax.random.key(0), (3, 8, 8, 1))
    cls_model, mean_model = tiny_vit("cls"), tiny_vit("mean")
    assert cls_model(x).shape == (3, 16) and mean_model(x).shape == (3, 16)
    # The CLS token and its position embedding are the only extra parameters of "cls".
    assert param_count(cls_model) - param_count(mean_model) == 16 + 16
    # No dropout: train and eval modes agree.
    np.testing.assert_array_equal(cls_model(x, train=True), cls_model(x, train=False))


def test_patch_size_must_divide_the_image():
    with pytest.raises(ValueError, match="patch_size 3 must divide"):
        ViT(in_shape=(8, 8, 1), patch_size=3, width=16, depth=1, num_heads=2, rngs=nnx.Rngs(0))


def reference_attention(x, qkv_w, qkv_b, out_w, out_b, num_heads):
    """Multi-head softmax attention in float64, written from the formula."""
    x = np.asarray(x, np.float64)
    batch, length, width = x.shape
    head = width // num_heads
    q, k, v = np.split(x @ qkv_w + qkv_b, 3, axis=-1)
    out = np.zeros_like(x)
    for h in range(num_heads):
        cols = slice(h * head, (h + 1) * head)
        logits = q[..., cols] @ np.swapaxes(k[..., cols], 1, 2) / np.sqrt(head)
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        out[..., cols] = weights @ v[..., cols]
    return out @ out_w + out_b


def test_self_attention_matches_numpy():
    attention = fast_build(lambda: SelfAttention(8, num_heads=2, rngs=nnx.Rngs(3)))
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    expected = reference_attention(
        x, np.asarray(attention.qkv.kernel[...]), np.asarray(attention.qkv.bias[...]),
        np.asarray(attention.out.kernel[...]), np.asarray(attention.out.bias[...]), 2)
    np.testing.assert_allclose(attention(jnp.asarray(x)), expected, rtol=1e-4, atol=1e-5)
