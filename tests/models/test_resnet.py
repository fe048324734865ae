"""ResNet-18/50: parameter counts against the published models, shapes, stems, BatchNorm modes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.models import resnet18, resnet50
from tests.models.helpers import fast_build, fast_jit


def param_count(module) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(module, nnx.Param)))


def abstract(constructor, **kwargs):
    """The module with shapes only (no arrays allocated): enough to count parameters."""
    return nnx.eval_shape(lambda: constructor(rngs=nnx.Rngs(0), **kwargs))


# torchvision's resnet18 / resnet50 have 11,689,512 / 25,557,032 parameters including the
# 1000-way fc layer (512*1000 + 1000 = 513,000 and 2048*1000 + 1000 = 2,049,000).
@pytest.mark.parametrize("constructor, expected", [(resnet18, 11_689_512 - 513_000),
                                                   (resnet50, 25_557_032 - 2_049_000)])
def test_imagenet_param_count_matches_torchvision(constructor, expected):
    model = abstract(constructor, in_shape=(224, 224, 3))
    assert param_count(model) == expected


def test_cifar_stem_is_a_3x3_conv_without_pooling():
    imagenet = abstract(resnet18, in_shape=(32, 32, 3))
    cifar = abstract(resnet18, in_shape=(32, 32, 3), stem="cifar")
    assert imagenet.stem_conv.kernel.shape == (7, 7, 3, 64) and imagenet.stem_pool
    assert cifar.stem_conv.kernel.shape == (3, 3, 3, 64) and not cifar.stem_pool
    assert param_count(imagenet) - param_count(cifar) == (49 - 9) * 3 * 64


@pytest.mark.parametrize("constructor, width_multiplier, feature_dim",
                         [(resnet18, 0.125, 64), (resnet50, 0.0625, 128)])
@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
def test_output_shape_and_feature_dim(constructor, width_multiplier, feature_dim, stem):
    model = abstract(constructor, in_shape=(32, 32, 3), width_multiplier=width_multiplier,
                     stem=stem)
    out = nnx.eval_shape(lambda m: m(jnp.zeros((2, 32, 32, 3)), train=False), model)
    assert model.feature_dim == feature_dim
    assert out.shape == (2, feature_dim)


def test_unknown_stem_is_rejected():
    with pytest.raises(ValueError, match="stem must be 'imagenet' or 'cifar'"):
        resnet18(in_shape=(8, 8, 1), stem="tiny", rngs=nnx.Rngs(0))


def test_batchnorm_train_uses_batch_statistics_and_eval_running_ones():
    model = fast_build(lambda: resnet18(in_shape=(8, 8, 1), width_multiplier=0.0625,
                                        stem="cifar", rngs=nnx.Rngs(0)))
    x = jax.random.normal(jax.random.key(1), (8, 8, 8, 1))
    graphdef, state = nnx.split(model)
    state = nnx.as_pure(state)

    def outputs(state, x):
        model = nnx.merge(graphdef, state)
        evals = (model(x, train=False), model(3.0 * x, train=False))
        after_eval = nnx.as_pure(nnx.state(model, nnx.BatchStat))
        trains = (model(x, train=True), model(3.0 * x, train=True))
        return evals + trains, after_eval, nnx.as_pure(nnx.state(model, nnx.BatchStat))

    (eval_x, eval_3x, train_x, train_3x), after_eval, after_train = fast_jit(outputs, state, x)
    # Convolutions without bias followed by batch-statistics BatchNorm: scaling the input
    # changes nothing in train mode, while eval mode (running statistics) sees the scale.
    np.testing.assert_allclose(train_3x, train_x, rtol=1e-3, atol=1e-3)
    assert not np.allclose(eval_3x, eval_x, rtol=1e-2, atol=1e-2)
    # Eval calls leave the running statistics alone; train calls move them.
    before = jax.tree.leaves(nnx.as_pure(nnx.state(model, nnx.BatchStat)))
    assert all(np.array_equal(a, b) for a, b in zip(before, jax.tree.leaves(after_eval)))
    assert any(not np.array_equal(a, b) for a, b in zip(before, jax.tree.leaves(after_train)))
