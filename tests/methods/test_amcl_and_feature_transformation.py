"""The AMCL model's heads and temperature network reach ``losses.amcl`` head by head, and MoCo
v2 with feature transformation draws its mixing from the paper's ranges."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.common import views_of
from contrastive_jax.train.build import build_method, build_views
from tests.losses import helpers as h


def build(name, **method_changes):
    config = importlib.import_module(f"configs.{name}").get_config("dataset=digits,scale=tiny")
    for key, value in method_changes.items():
        config.method[key] = value
    return build_method(config, image_shape=(8, 8, 1), make_views=build_views(config.augment),
                        num_classes=10)


def batch(size=16):
    images = np.random.default_rng(0).integers(0, 256, (size, 8, 8, 1), dtype=np.uint8)
    return {"image": images, "label": np.arange(size) % 10}


def test_amcl_loss_is_the_sum_over_heads_of_each_projectors_loss():
    method = build("simclr_amcl", num_heads=3, top_k=7)
    o = method.options
    model, state = method.init(jax.random.key(0), batch())
    data, rng = batch(), jax.random.key(1)

    graphdef, params = nnx.split(model)

    def both(params):
        model = nnx.merge(graphdef, params)
        loss, (metrics, _) = method.loss(model, state, data, rng)
        features = model.encoder(jnp.concatenate(views_of(method, data, rng, 2)), train=True)
        per_head = []
        for head in model.projector.heads:
            z = head(features, train=True)
            phi = model.temperature_net(z / jnp.linalg.norm(z, axis=-1, keepdims=True))
            z1, z2 = jnp.split(z[None], 2, axis=1)
            p1, p2 = jnp.split(phi[None], 2, axis=1)
            per_head.append(losses.amcl(z1, z2, p1, p2, beta=o.beta, tau_min=o.tau_min,
                                        tau_max=o.tau_max, top_k=o.top_k))
        return loss, sum(per_head), metrics["positive_temperature"]

    loss, expected, tau = h.jit(both)(params)
    h.assert_close(loss, expected, rtol=1e-5)
    assert o.tau_min < float(tau) < o.tau_max


def test_feature_transformation_draws_per_step_in_the_papers_ranges():
    method = build("moco_v2_ft")
    model, state = method.init(jax.random.key(0), batch())
    graphdef, params = nnx.split(model)
    step = h.jit(lambda p, s, r: method.loss(nnx.merge(graphdef, p), s, batch(), r))
    mixes = []
    for seed in range(2):
        loss, (metrics, new_state) = step(params, state, jax.random.key(seed))
        assert np.isfinite(float(loss))
        assert 1.0 <= float(metrics["positive_mix"]) <= 2.0  # extrapolation: 1 + Beta(2, 2)
        assert 0.0 <= float(metrics["negative_mix"]) <= 1.0
        mixes.append(float(metrics["positive_mix"]))
        assert int(new_state["pointer"]) == 16
    assert mixes[0] != mixes[1]
