"""The GCN encoder against a dense NumPy ``relu(D^-1/2 (A + I) D^-1/2 X W + b)`` reference,
with padded and masked edges, under jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.models.gcn import GCNEncoder, gcn_propagate


def dense_normalized(edges, mask, n):
    """``D^-1/2 (A + I) D^-1/2`` with ``A[t, s] = 1`` for each kept (s, t), float64."""
    a = np.eye(n)
    for (s, t), keep in zip(edges, mask):
        if keep:
            a[t, s] += 1.0
    d = a.sum(axis=1)
    return a / np.sqrt(d[:, None] * d[None, :])


def random_graph(seed, n=12, num_edges=20, pad=12):
    rng = np.random.default_rng(seed)
    pairs = set()
    while len(pairs) < num_edges:
        s, t = rng.integers(0, n, 2)
        if s != t:
            pairs |= {(s, t), (t, s)}
    edges = np.array(sorted(pairs) + [(0, 0)] * pad, np.int32)
    mask = np.array([True] * len(pairs) + [False] * pad)
    return edges, mask


def test_propagation_matches_dense_reference_with_padding_and_dropped_edges():
    edges, mask = random_graph(0)
    h = np.random.default_rng(1).standard_normal((12, 5)).astype(np.float32)
    dropped = mask & (np.random.default_rng(2).uniform(size=len(mask)) > 0.4)
    for m in (mask, dropped, np.zeros_like(mask)):
        out = jax.jit(gcn_propagate)(h, edges, m)
        np.testing.assert_allclose(out, dense_normalized(edges, m, 12) @ h, rtol=1e-5, atol=1e-6)


def test_encoder_matches_two_layer_reference():
    edges, mask = random_graph(3)
    x = np.random.default_rng(4).standard_normal((12, 6)).astype(np.float32)
    encoder = GCNEncoder(in_shape=(12, 6), output_dim=4, rngs=nnx.Rngs(params=0))
    for layer in encoder.layers:  # nonzero biases, so the reference checks where b enters
        layer.bias.value = jnp.asarray(np.random.default_rng(5).standard_normal(
            layer.bias.value.shape), jnp.float32)
    out, batched = nnx.jit(lambda e: (e(x, edges, mask), e(x[None], edges[None], mask[None])))(
        encoder)
    a_hat = dense_normalized(edges, mask, 12)
    h = x.astype(np.float64)
    for layer in encoder.layers:
        w = np.asarray(layer.linear.kernel.value, np.float64)
        h = np.maximum(a_hat @ h @ w + np.asarray(layer.bias.value, np.float64), 0.0)
    assert out.shape == (12, 4) and [l.linear.kernel.value.shape for l in encoder.layers] == [
        (6, 8), (8, 4)]  # GRACE: hidden 2 x output
    np.testing.assert_allclose(out, h, rtol=1e-4, atol=1e-5)
    # a batch of one graph gives the same
    np.testing.assert_allclose(batched, out, rtol=1e-6, atol=1e-6)


def test_bad_input_shape_and_activation_fail_clearly():
    with pytest.raises(ValueError, match="graph:<name>"):
        GCNEncoder(in_shape=(28, 28, 1), rngs=nnx.Rngs(params=0))
    with pytest.raises(ValueError, match="'relu', 'elu'"):
        GCNEncoder(in_shape=(4, 2), activation="tanh", rngs=nnx.Rngs(params=0))
