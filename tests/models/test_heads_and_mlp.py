"""Predictor, SwAV prototypes (cosine scores, straight-through normalization) and the MLP
encoder; plus every registered encoder builds and reports its feature width."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.models import MLPEncoder, PredictorMLP, Prototypes
from contrastive_jax.registry import ENCODERS
from tests.models.helpers import fast_build


def unit_rows(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_predictor_maps_back_to_its_input_width():
    predictor = fast_build(lambda: PredictorMLP(12, hidden_dim=4, rngs=nnx.Rngs(0)))
    assert predictor(jnp.ones((5, 12)), train=True).shape == (5, 12)
    assert predictor.linears[0].kernel.shape == (12, 4)


def test_prototype_scores_are_cosines_whatever_the_stored_norm():
    prototypes = fast_build(lambda: Prototypes(6, 4, rngs=nnx.Rngs(0)))
    np.testing.assert_allclose(np.linalg.norm(prototypes.weight[...], axis=1), 1.0, rtol=1e-6)
    z = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    prototypes.weight[...] = prototypes.weight[...] * jnp.array([[1.0], [2.0], [0.5], [3.0]])
    expected = unit_rows(z) @ unit_rows(prototypes.weight[...]).T
    np.testing.assert_allclose(prototypes(jnp.asarray(z)), expected, rtol=1e-5, atol=1e-6)
    prototypes.normalize_prototypes()
    np.testing.assert_allclose(np.linalg.norm(prototypes.weight[...], axis=1), 1.0, rtol=1e-6)


def test_prototype_gradient_is_straight_through():
    prototypes = fast_build(lambda: Prototypes(6, 4, rngs=nnx.Rngs(0)))
    prototypes.weight[...] = 2.0 * prototypes.weight[...]
    z = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    upstream = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    grads = nnx.grad(lambda p: jnp.sum(p(jnp.asarray(z)) * upstream))(prototypes)
    # d/dC sum(G * n(z) C^T) = G^T n(z), taken at the normalized rows and passed through.
    np.testing.assert_allclose(grads.weight[...], upstream.T @ unit_rows(z), rtol=1e-5,
                               atol=1e-6)


def test_zero_prototypes_are_rejected():
    with pytest.raises(ValueError, match="num_prototypes >= 1"):
        Prototypes(6, 0, rngs=nnx.Rngs(0))


def test_mlp_encoder_flattens_and_uses_batch_statistics_in_train_mode():
    model = fast_build(lambda: MLPEncoder(in_shape=(4, 4, 2), widths=(8, 5), rngs=nnx.Rngs(0)))
    x = jax.random.normal(jax.random.key(0), (6, 4, 4, 2))
    assert model.linears[0].kernel.shape == (32, 8) and model.feature_dim == 5
    outputs = nnx.jit(lambda m, x: (m(x, train=True), m(2.0 * x, train=True),
                                    m(x, train=False), m(2.0 * x, train=False)))
    train_x, train_2x, eval_x, eval_2x = outputs(model, x)
    assert train_x.shape == (6, 5)
    np.testing.assert_allclose(train_2x, train_x, rtol=1e-3, atol=1e-3)
    assert not np.allclose(eval_2x, eval_x, rtol=1e-2, atol=1e-2)


ENCODER_OPTIONS = {
    "convnet": dict(widths=(4,), num_pooled=1), "resnet18": dict(width_multiplier=0.125),
    "resnet50": dict(width_multiplier=0.0625), "vit_ti": dict(patch_size=8),
    "vit_s": dict(patch_size=8), "vit_b": dict(patch_size=8),
    "vit": dict(patch_size=4, width=8, depth=1, num_heads=2), "mlp": dict(widths=(8,)),
}


@pytest.mark.parametrize("name", sorted(ENCODERS.names()))
def test_every_registered_encoder_builds_and_reports_feature_dim(name):
    if name == "gcn":  # a graph: node features [N, F], edges [E, 2], edge mask [E] -> [N, D]
        model = nnx.eval_shape(lambda: ENCODERS.build(name, in_shape=(6, 3), output_dim=4,
                                                      rngs=nnx.Rngs(0)))
        out = nnx.eval_shape(lambda m: m(jnp.zeros((6, 3)), jnp.zeros((8, 2), jnp.int32),
                                         jnp.ones((8,), bool), train=False), model)
        assert out.shape == (6, model.feature_dim) == (6, 4)
        return
    if name == "text_transformer":
        build = lambda: ENCODERS.build(name, vocab_size=10, max_len=4, width=8, depth=1,
                                       num_heads=2, rngs=nnx.Rngs(0))
        inputs = jnp.zeros((2, 4), jnp.int32)
    elif name == "ts2vec":  # time series [B, T, C]
        build = lambda: ENCODERS.build(name, in_shape=(8, 1), hidden_dim=8, depth=1,
                                       output_dim=8, rngs=nnx.Rngs(0))
        inputs = jnp.zeros((2, 8, 1))
    else:
        build = lambda: ENCODERS.build(name, in_shape=(8, 8, 1), rngs=nnx.Rngs(0),
                                       **ENCODER_OPTIONS[name])
        inputs = jnp.zeros((2, 8, 8, 1))
    model = nnx.eval_shape(build)
    out = nnx.eval_shape(lambda m: m(inputs, train=False), model)
    assert out.shape == (2, model.feature_dim)
