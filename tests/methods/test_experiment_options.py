"""Options added for experiments/: the BYOL / SimSiam predictor choice, MV-InfoNCE's pairwise
aggregation, and the final evaluation's projector probe, diagnostics and zero-shot rows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import byol, clip, common, mv_infonce, simclr, simsiam
from contrastive_jax import losses
from contrastive_jax.methods.common import views_of
from contrastive_jax.methods.multiview import pairwise_nt_xent
from contrastive_jax.models import LinearPredictor, PredictorMLP
from contrastive_jax.train import build, final_eval, mesh as mesh_lib, optim
from contrastive_jax.train.state import merge_model, plan_train_state


def tiny_parts(module, dataset="digits", **overrides):
    config = module.get_config(f"scale=tiny,dataset={dataset}")
    common.set_dotted(config, overrides)
    return config, build.build_parts(config)


def first_images(parts, count=16):
    return {"image": parts.train_source.as_arrays()["image"][:count]}


@pytest.mark.parametrize("module", [byol, simsiam], ids=["byol", "simsiam"])
@pytest.mark.parametrize("kind, expected", [("none", type(None)), ("linear", LinearPredictor),
                                            ("mlp", PredictorMLP)])
def test_predictor_option_builds_that_predictor_and_trains(module, kind, expected):
    config, parts = tiny_parts(module, **{"method.predictor": kind})
    batch = first_images(parts)
    model, state = parts.method.init(jax.random.key(0), batch)
    assert type(model.predictor) is expected
    if kind == "linear":  # a [D, D] map without bias (Tian et al., 2021)
        dim = config.method.proj_dim
        assert model.predictor.linear.kernel.shape == (dim, dim)
        assert model.predictor.linear.bias is None
    loss, (metrics, _) = parts.method.loss(model, state, batch, jax.random.key(1))
    assert np.isfinite(float(loss)) and np.isfinite(float(metrics["embedding_std"]))


def test_simsiam_without_predictor_is_the_negative_cosine_of_the_two_projections():
    _, parts = tiny_parts(simsiam, **{"method.predictor": "none"})
    batch, rng = first_images(parts), jax.random.key(3)
    model, state = parts.method.init(jax.random.key(0), batch)
    loss, _ = parts.method.loss(model, state, batch, rng)
    _, z = model(jnp.concatenate(views_of(parts.method, batch, rng, 2)), train=True)
    z1, z2 = np.split(np.asarray(z, np.float64), 2)
    cosine = np.sum(z1 * z2, 1) / np.linalg.norm(z1, axis=1) / np.linalg.norm(z2, axis=1)
    np.testing.assert_allclose(float(loss), -np.mean(cosine), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("module", [byol, simsiam], ids=["byol", "simsiam"])
def test_unknown_predictor_fails_when_the_method_is_built(module):
    with pytest.raises(ValueError, match="predictor must be one of"):
        tiny_parts(module, **{"method.predictor": "deep"})


def numpy_nt_xent(a, b, temperature):
    """Independent NT-Xent: 2B anchors, softmax over the other 2B - 1 views, float64."""
    z = np.concatenate([a, b]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    logits = z @ z.T / temperature
    np.fill_diagonal(logits, -np.inf)
    n = len(a)
    positive = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    log_norm = np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1)) + logits.max(1)
    return np.mean(log_norm - logits[np.arange(2 * n), positive])


def test_pairwise_aggregation_averages_nt_xent_over_view_pairs():
    z = np.random.default_rng(0).normal(size=(3, 8, 5)).astype(np.float32)
    expected = np.mean([numpy_nt_xent(z[0], z[1], 0.2), numpy_nt_xent(z[0], z[2], 0.2),
                        numpy_nt_xent(z[1], z[2], 0.2)])
    np.testing.assert_allclose(float(pairwise_nt_xent(jnp.asarray(z), temperature=0.2)),
                               expected, rtol=1e-5)
    np.testing.assert_allclose(float(pairwise_nt_xent(jnp.asarray(z[:2]), temperature=0.2)),
                               float(losses.nt_xent(z[0], z[1], temperature=0.2)), rtol=1e-6)
    _, pairwise = tiny_parts(mv_infonce, **{"method.aggregation": "pairwise"})
    _, joint = tiny_parts(mv_infonce)
    t = pairwise.method.options.temperature
    np.testing.assert_allclose(float(pairwise.method.objective(jnp.asarray(z), None)[0]),
                               float(pairwise_nt_xent(jnp.asarray(z), temperature=t)), rtol=1e-6)
    np.testing.assert_allclose(float(joint.method.objective(jnp.asarray(z), None)[0]),
                               float(losses.multiview_info_nce(z, temperature=t)), rtol=1e-6)
    with pytest.raises(ValueError, match="aggregation must be one of"):
        tiny_parts(mv_infonce, **{"method.aggregation": "sum"})


def test_embed_projection_is_the_projector_on_the_encoder_features():
    config, parts = tiny_parts(simclr)
    batch = first_images(parts, 8)
    model, _ = parts.method.init(jax.random.key(0), batch)
    projected = parts.method.embed_projection(model, batch["image"])
    assert projected.shape == (8, config.method.proj_dim)
    features = parts.method.embed(model, batch["image"])
    np.testing.assert_allclose(projected, model.projector(features, train=False), rtol=1e-6)
    _, clip_parts = tiny_parts(clip, dataset="captions:digits")
    clip_batch = {**first_images(clip_parts, 4),
                  "text": clip_parts.train_source.as_arrays()["text"][:4]}
    clip_model, _ = clip_parts.method.init(jax.random.key(0), clip_batch)
    with pytest.raises(TypeError, match="no projector"):
        clip_parts.method.embed_projection(clip_model, clip_batch["image"])


def initial_state(config, parts):
    mesh = mesh_lib.make_mesh(config.mesh, devices=jax.devices()[:1])
    optimizer, _ = optim.make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, _, create = plan_train_state(parts.method, optimizer, parts.train_source[0],
                                              mesh)
    return graphdef, create(jax.random.key(0)), mesh


def test_final_evaluation_adds_projection_row_diagnostics_and_zero_shot():
    config, parts = tiny_parts(simclr, **{"eval.probe_projection": True,
                                          "eval.diagnostics": True, "eval.probe_max_iter": 20,
                                          "eval.probe_l2_grid": (0.01,),
                                          "eval.final_baselines": False})
    graphdef, state, mesh = initial_state(config, parts)
    summary = final_eval.Evaluation(parts, graphdef, config.eval, mesh=mesh).final(
        state, config, start_time=0.0)
    rows = summary["results"]
    assert list(rows) == ["learned", "learned_projection"]
    assert rows["learned_projection"]["feature_dim"] == config.method.proj_dim
    for row in rows.values():
        assert 1.0 <= row["rankme"] <= row["feature_dim"]
        assert 0.0 <= row["embedding_std_ratio"] and 0.0 <= row["linear_probe"] <= 1.0
    assert "zero_shot" not in rows["learned"]
    assert "learned_projection" in final_eval.format_table(summary)

    config, parts = tiny_parts(clip, dataset="captions:digits")
    graphdef, state, mesh = initial_state(config, parts)
    evaluation = final_eval.Evaluation(parts, graphdef, config.eval, mesh=mesh)
    accuracy = evaluation.zero_shot(state)
    test = parts.test_source.as_arrays()
    # The zero-shot rule by hand: nearest class of the template-averaged caption embeddings.
    model = merge_model(graphdef, state.params, state.model_state)
    images = np.asarray(parts.method.embed_image(model, test["image"]))
    prompts = evaluation.prompts
    text = np.array(parts.method.embed_text(model, prompts.reshape(-1, prompts.shape[-1])))
    text = text.reshape(prompts.shape[0], prompts.shape[1], -1)
    text /= np.linalg.norm(text, axis=-1, keepdims=True)
    classes = text.mean(1)
    classes /= np.linalg.norm(classes, axis=-1, keepdims=True)
    predicted = np.argmax(images @ classes.T, axis=1)  # norms of images / classes do not matter
    assert accuracy == pytest.approx(np.mean(predicted == test["label"]), abs=2e-3)
