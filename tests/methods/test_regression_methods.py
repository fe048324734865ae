"""The regression methods (methods.regression): SupReMix's loss across devices equals the
global-batch loss (8 simulated devices), their options fail at config time, and a batch
without targets is explained."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from contrastive_jax import losses
from contrastive_jax.methods import batch_loss as bl
from contrastive_jax.methods.options import options_from_config
from contrastive_jax.methods.regression import L1Regression, SupReMixOptions
from configs import supremix as supremix_config
from tests.losses import helpers as h

MESH = Mesh(np.asarray(jax.devices()).reshape(4, 2), ("data", "fsdp"))
SHARDED = NamedSharding(MESH, P(("data", "fsdp")))


def supremix_options(**kwargs):
    base = dict(proj_hidden_dim=8, proj_dim=4, proj_layers=2, temperature=0.3)
    return options_from_config(SupReMixOptions, {**base, **kwargs}, "supremix")


def test_all_gather_equals_global_batch():
    b, v, d = 16, 2, 6
    z = h.normal(0, b, v, d)
    y = np.random.default_rng(1).integers(0, 8, b).astype(np.float32)
    mix = np.random.default_rng(2).beta(2, 8, (b, v, b * v)).astype(np.float32)
    loss_fn = lambda *a, **k: losses.supremix(*a, positive_window=3.0, **k)

    def form(cross_device):
        options = supremix_options(cross_device=cross_device)
        def traced(*args):
            with jax.sharding.use_abstract_mesh(MESH.abstract_mesh):
                return jax.value_and_grad(lambda zz: bl.batch_loss(
                    loss_fn, (zz, args[1], args[2]), options=options))(args[0])
        return h.jit(traced)(*(jax.device_put(a, SHARDED) for a in (z, y, mix)))

    (global_value, global_grad), (gathered_value, gathered_grad) = form("global"), form(
        "all_gather")
    h.assert_close(gathered_value, global_value)
    h.assert_close(gathered_grad, global_grad, atol=1e-6)
    assert np.abs(np.asarray(global_grad)).max() > 0


def test_options_fail_at_config_time():
    with pytest.raises(ValueError, match="no blockwise form"):
        supremix_options(loss_block_size=8)
    with pytest.raises(ValueError, match="negative_mix_beta"):
        supremix_options(negative_mix_beta=(2.0, 0.0))
    with pytest.raises(ValueError, match="positive_window"):
        supremix_options(positive_window=0.0)
    with pytest.raises(ValueError, match="unknown option"):
        supremix_options(window=1.0)
    with pytest.raises(ValueError, match="dataset must be one of"):
        supremix_config.get_config("dataset=mnist5k")
    with pytest.raises(ValueError, match="method must be one of"):
        supremix_config.get_config("method=simclr")


def test_l1_regression_on_a_batch_without_targets_is_explained():
    config = supremix_config.get_config("dataset=tabular:diabetes,method=l1_regression,"
                                        "scale=tiny")
    config.method.feature_noise = 0.0  # the view is the feature vector itself
    options = options_from_config(L1Regression.options_type, config.method, "l1_regression")
    method = L1Regression(options, encoder=config.encoder, image_shape=(10,),
                          make_views=None, num_views=1, batch_size=4, total_steps=1)
    model, state = method.init(jax.random.key(0), None)
    x = np.random.default_rng(0).normal(size=(4, 10)).astype(np.float32)
    target = np.array([152.0, 229.0, 75.0, 152.0], np.float32)  # mean 152, std 77
    loss, (metrics, _) = method.loss(model, state, {"features": x, "target": target},
                                     jax.random.key(1))
    prediction = np.asarray(model(jnp.asarray(x), train=True)[1][:, 0], np.float64)
    # the L1 error of the head against the standardised target; mae in the target's units
    expected = np.mean(np.abs(prediction - np.array([0.0, 1.0, -1.0, 0.0])))
    h.assert_close(loss, expected, rtol=1e-5)
    h.assert_close(metrics["mae"], 77.0 * expected, rtol=1e-5)
    with pytest.raises(ValueError, match="regression targets"):
        method.loss(model, state, {"features": x}, jax.random.key(1))
