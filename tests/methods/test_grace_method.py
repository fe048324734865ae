"""The GRACE method wires views -> GCN -> projector -> loss as documented: its loss equals the
loss recomputed from the same views by hand, gCooL's communities are one-hot k-means clusters,
POT mixes in with kappa, and wrong settings fail before anything compiles."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.train import build


def parts_for(arg, **method):
    config = importlib.import_module("configs.grace").get_config(f"scale=tiny,{arg}".rstrip(","))
    config.method.update(method)
    return config, build.build_parts(config)


def batch_of(source):
    return {k: np.asarray(v)[None] for k, v in source[0].items()}


@pytest.mark.parametrize("loss, pot_weight", [
    ("grace", 0.0), pytest.param("gcool", 0.0, marks=pytest.mark.slow),
    pytest.param("grace", 0.3, marks=pytest.mark.slow)])
def test_loss_is_the_documented_combination(loss, pot_weight):
    config, parts = parts_for(f"loss={loss},pot_weight={pot_weight}")
    method, source = parts.method, parts.train_source
    model, state = method.init(jax.random.key(0), source[0])
    batch, rng = batch_of(source), jax.random.key(1)
    (value, (metrics, _)), (expected, pot), embedding = nnx.jit(
        lambda m: (method.loss(m, state, batch, rng), by_hand(m, config, parts, rng),
                   method.embed_nodes(m, batch)))(model)
    if pot_weight:
        np.testing.assert_allclose(metrics["pot_loss"], pot, rtol=1e-5)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert embedding.shape == (source.num_nodes, config.encoder.output_dim)


def by_hand(model, config, parts, rng):
    """The documented loss from the same views, and the POT term (None without POT)."""
    method, source = parts.method, parts.train_source
    loss, pot_weight = config.method.loss, config.method.pot_weight
    views = parts.make_views(rng, jnp.asarray(source.x), jnp.asarray(source.edge_mask))
    h1 = model.encoder(views.x1, source.edges, views.edge_mask1)
    h2 = model.encoder(views.x2, source.edges, views.edge_mask2)
    z1, z2 = model.project(h1), model.project(h2)
    tau = config.method.temperature
    if loss == "gcool":
        r = method.communities(h1, h2)
        assert r.shape == (source.num_nodes, source.info.num_classes)
        expected = losses.gcool(z1, z2, r, temperature=tau, gamma=config.method.gcool_gamma)
    else:
        expected = losses.grace(z1, z2, temperature=tau)
    if pot_weight:
        layers = [(l.linear.kernel.value, l.bias.value) for l in model.encoder.layers]
        rates = config.augment.drop_edge
        pot = 0.5 * (losses.pot(views.x1, source.edges, views.edge_mask1, layers, h2,
                                drop_rate=rates[0])
                     + losses.pot(views.x2, source.edges, views.edge_mask2, layers, h1,
                                  drop_rate=rates[1]))
        return (1 - pot_weight) * expected + pot_weight * pot, pot
    return expected, None


def test_wrong_settings_fail_before_compiling():
    config = importlib.import_module("configs.grace").get_config("scale=tiny")
    config.batch_size = 2
    with pytest.raises(ValueError, match="the batch is the graph; set config.batch_size=1"):
        build.build_parts(config)
    config = importlib.import_module("configs.grace").get_config("scale=tiny")
    config.augment = config.augment.__class__(dict(name="simclr"))
    with pytest.raises(ValueError, match="config.augment.name='grace'"):
        build.build_parts(config)
    with pytest.raises(ValueError, match="one of \\('grace', 'gcool'\\)"):
        build.method_options(importlib.import_module("configs.grace").get_config("loss=dcl"))
    with pytest.raises(ValueError, match="graph:<name>"):
        importlib.import_module("configs.grace").get_config("dataset=mnist5k")


def test_parts_build_with_a_workdir_as_main_builds_them(tmp_path):
    """``main`` builds the parts with the run's workdir; a graph source takes any keyword as a
    graph option, so it must not be offered ``workdir`` (a text source is, for its tokenizer)."""
    config = importlib.import_module("configs.grace").get_config("scale=tiny")
    parts = build.build_parts(config, workdir=str(tmp_path / "graph"))
    assert len(parts.train_source) == 1
    assert not (tmp_path / "graph").exists()
    text = importlib.import_module("configs.simcse").get_config("scale=tiny")
    build.build_parts(text, workdir=str(tmp_path / "text"))
    assert (tmp_path / "text" / "tokenizer.json").is_file()
