"""The bidirectional text encoder (mean / [CLS] pooling, padding masked, dropout) against a
float64 NumPy forward pass written from its definition."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.models import TextTransformer
from tests.models.helpers import fast_build

TOKENS = np.array([[5, 6, 7, 0, 0], [3, 0, 0, 0, 0], [9, 8, 7, 6, 4]], np.int32)


def a(x):
    return np.asarray(x[...] if hasattr(x, "__getitem__") and not isinstance(x, np.ndarray)
                      else x, np.float64)


def layer_norm(x, norm, eps=1e-6):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * a(norm.scale) + a(norm.bias)


def linear(x, layer):
    return x @ a(layer.kernel) + a(layer.bias)


def gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def reference(model, tokens, pool):
    """[B, width]: embeddings (+ [CLS]), pre-LN blocks attending only to non-pad keys, final
    LN, then the mean over non-pad tokens or the [CLS] state."""
    x = a(model.token_embedding.embedding)[tokens]
    real = tokens != 0
    if pool == "cls":
        cls = np.broadcast_to(a(model.cls_token)[0], (len(x), 1, x.shape[-1]))
        x, real = np.concatenate([cls, x], 1), np.concatenate([np.ones((len(x), 1), bool), real], 1)
    x = x + a(model.position_embedding)[0, :x.shape[1]]
    length = x.shape[1]
    heads = 2
    for block in model.transformer.blocks:
        h = layer_norm(x, block.norm1)
        qkv = linear(h, block.attention.qkv).reshape(len(x), length, 3, heads, -1)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        logits = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(q.shape[-1])
        allowed = real[:, None, None, :] | np.eye(length, dtype=bool)[None, None]
        logits = np.where(allowed, logits, -np.inf)
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        attended = np.einsum("bhqk,bkhd->bqhd", weights, v).reshape(len(x), length, -1)
        x = x + linear(attended, block.attention.out)
        h = layer_norm(x, block.norm2)
        x = x + linear(gelu(linear(h, block.mlp.fc1)), block.mlp.fc2)
    x = layer_norm(x, model.transformer.final_norm)
    if pool == "cls":
        return x[:, 0]
    return (x * real[..., None]).sum(1) / real.sum(1, keepdims=True)


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_bidirectional_pooling_matches_numpy_reference(pool):
    model = fast_build(lambda: TextTransformer(
        vocab_size=12, in_shape=(5,), width=8, depth=2, num_heads=2, causal=False, pool=pool,
        dropout=0.3, rngs=nnx.Rngs(0)))
    assert model.max_len == 5  # from in_shape, as a config encoder is built
    features = np.asarray(model(jnp.asarray(TOKENS)), np.float64)
    np.testing.assert_allclose(features, reference(model, TOKENS, pool), rtol=2e-4, atol=2e-5)
    # Dropout only in train mode with a key; two keys give two different encodings.
    rng = jax.random.key(1)
    trained = [np.asarray(model(jnp.asarray(TOKENS), train=True, dropout_rng=k))
               for k in (rng, jax.random.key(2))]
    assert not np.allclose(trained[0], trained[1]) and not np.allclose(trained[0], features)
    with pytest.raises(ValueError, match="dropout_rng"):
        model(jnp.asarray(TOKENS), train=True)


def test_cls_pool_needs_a_bidirectional_encoder():
    with pytest.raises(ValueError, match="causal=False"):
        TextTransformer(vocab_size=12, max_len=5, width=8, depth=1, num_heads=2, causal=True,
                        pool="cls", rngs=nnx.Rngs(0))
