"""What ``loss`` does to the method state, checked from the outside: the EMA target, the MoCo
queue, DirectPred's predictor, SwAV's queue and frozen prototypes, CLIP/SigLIP's scale and bias,
the evaluation embeddings, and GradCache support of the embedding-only objectives."""

import functools
import importlib
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.common import param_arrays, with_params
from contrastive_jax.methods.directpred import directpred_weights
from contrastive_jax.train.build import build_method
from contrastive_jax.train.grad_cache import check_grad_cache, grad_cache_loss_and_grads
from contrastive_jax.train.state import init_train_state
from contrastive_jax.train.step import loss_and_grads

FAST_COMPILE = {"xla_backend_optimization_level": 0}
BATCH = 8


def make_batch(text_len=0):
    generator = np.random.default_rng(0)
    batch = {"image": generator.integers(0, 256, (BATCH, 8, 8, 1), dtype=np.uint8),
             "label": generator.integers(0, 3, BATCH).astype(np.int32)}
    if text_len:
        batch["text"] = generator.integers(1, 30, (BATCH, text_len)).astype(np.int32)
    return batch


def views_from(batch):
    """Two fixed, different views: the images and their mirror image."""
    def make_views(rng, images):
        return images, images[:, :, ::-1]
    return make_views


def build(name, arg="dataset=digits,scale=tiny", **method_changes):
    config = importlib.import_module(f"configs.{name}").get_config(arg)
    config.encoder = dict(name="mlp", widths=(16,))
    config.augment = dict(name="none", num_views=2)
    config.batch_size = BATCH
    for key, value in method_changes.items():
        config.method[key] = value
    return build_method(config, image_shape=(8, 8, 1), make_views=views_from(None),
                        num_classes=3)


_LOSS_FNS = {}


def run_loss(method, model, method_state, batch):
    """``(loss, metrics, new_state, grads)`` of one loss call, jitted (fast compile; one
    compiled function per method, reused across calls with the same shapes)."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    if id(method) not in _LOSS_FNS:
        def loss_fn(params, rest, method_state, batch):
            merged = nnx.merge(graphdef, params, rest)
            loss, (metrics, new_state) = method.loss(merged, method_state, batch,
                                                     jax.random.key(1))
            return loss, (metrics, new_state)

        _LOSS_FNS[id(method)] = (method, jax.jit(jax.value_and_grad(loss_fn, has_aux=True),
                                                 compiler_options=FAST_COMPILE))
    fn = _LOSS_FNS[id(method)][1]
    (loss, (metrics, new_state)), grads = fn(params, nnx.as_pure(rest), method_state, batch)
    return loss, metrics, new_state, grads


def test_byol_target_is_the_ema_of_the_online_branch():
    method = build("byol", base_momentum=0.9, momentum_schedule="constant")
    model, state = method.init(jax.random.key(0), make_batch())
    online = jax.tree.map(np.asarray, param_arrays(model.branch()))
    state["target"] = jax.tree.map(lambda p: p + 0.5, state["target"])
    old_target = jax.tree.map(np.asarray, state["target"])
    _, metrics, new_state, _ = run_loss(method, model, state, make_batch())
    for new, old, onl in zip(jax.tree.leaves(new_state["target"]), jax.tree.leaves(old_target),
                             jax.tree.leaves(online)):
        np.testing.assert_allclose(new, 0.9 * old + 0.1 * onl, rtol=1e-5, atol=1e-6)
    assert int(new_state["step"]) == 1 and float(metrics["momentum"]) == pytest.approx(0.9)


def test_moco_enqueues_the_normalized_keys_of_the_whole_batch():
    method = build("moco_v2", queue_size=2 * BATCH)
    model, state = method.init(jax.random.key(0), make_batch())
    batch = make_batch()
    _, _, new_state, _ = run_loss(method, model, state, batch)
    target = with_params(model.branch(), new_state["target"])
    view2 = views_from(None)(None, batch["image"].astype(np.float32) / 255.0)[1] * 2.0 - 1.0
    keys = np.asarray(target(jnp.asarray(view2), train=True)[1], np.float64)
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    np.testing.assert_allclose(new_state["queue"][:BATCH], keys, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(new_state["queue"][BATCH:], state["queue"][BATCH:])
    assert int(new_state["pointer"]) == BATCH


def test_directpred_predictor_is_set_from_the_correlation_not_trained():
    method = build("directpred")
    model, state = method.init(jax.random.key(0), make_batch())
    assert model.predictor is None  # no predictor parameters: nothing for the optimizer
    _, _, new_state, _ = run_loss(method, model, state, make_batch())
    correlation = np.asarray(new_state["correlation"])
    np.testing.assert_allclose(correlation, correlation.T, atol=1e-6)
    assert np.linalg.eigvalsh(correlation).min() > -1e-5  # an average of f f^T
    np.testing.assert_allclose(new_state["predictor"],
                               directpred_weights(jnp.asarray(correlation), eps=0.1), atol=1e-5)


def test_swav_queue_joins_sinkhorn_only_once_full():
    method = build("swav", queue_size=2 * BATCH, crops_for_assign=(0, 1))
    model, state = method.init(jax.random.key(0), make_batch())
    loss_empty, _, state_1, _ = run_loss(method, model, state, make_batch())
    # Not full yet: the plain SwAV loss.
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    view1, view2 = views_from(None)(None, make_batch()["image"].astype(np.float32) / 255.0)
    x = jnp.concatenate([view1, view2]) * 2.0 - 1.0
    _, scores = nnx.merge(graphdef, params, rest)(x, train=True)
    plain = losses.swav(jnp.stack(jnp.split(scores, 2)), (0, 1), temperature=0.1)
    np.testing.assert_allclose(loss_empty, plain, rtol=1e-5)
    assert int(state_1["queue_count"]) == BATCH
    _, _, state_2, _ = run_loss(method, model, state_1, make_batch())
    assert int(state_2["queue_count"]) == 2 * BATCH
    # The queue holds the unit embeddings of the assigned crops, newest first.
    np.testing.assert_allclose(np.linalg.norm(state_2["queue"], axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(state_2["queue"][:, :BATCH], state_1["queue"][:, :BATCH],
                               rtol=1e-5)  # same batch and weights: same embeddings
    # Other past embeddings change the codes once the queue is full, and only then.
    other = np.random.default_rng(5).standard_normal(state_2["queue"].shape)
    other = jnp.asarray(other / np.linalg.norm(other, axis=-1, keepdims=True), jnp.float32)
    loss_full, _, _, _ = run_loss(method, model, dict(state_2, queue=other), make_batch())
    not_full = dict(state_2, queue=other, queue_count=jnp.asarray(BATCH, jnp.int32))
    loss_gated, _, _, _ = run_loss(method, model, not_full, make_batch())
    assert not np.isclose(loss_full, loss_empty, rtol=1e-4)
    np.testing.assert_allclose(loss_gated, loss_empty, rtol=1e-5)


def test_swav_prototypes_get_no_gradient_while_frozen():
    method = build("swav", freeze_prototypes_steps=1)
    model, state = method.init(jax.random.key(0), make_batch())
    _, _, state_1, grads = run_loss(method, model, state, make_batch())
    assert np.all(np.asarray(grads["prototypes"]["weight"]) == 0)
    _, _, _, grads = run_loss(method, model, state_1, make_batch())
    assert np.any(np.asarray(grads["prototypes"]["weight"]) != 0)


@pytest.mark.parametrize("name, scale, bias", [("clip", 1 / 0.07, None), ("siglip", 10.0, -10.0)])
def test_image_text_scale_bias_and_embeddings(name, scale, bias):
    method = build(name, arg="dataset=captions:digits,scale=tiny")
    batch = make_batch(text_len=6)
    model, _ = method.init(jax.random.key(0), batch)
    loss, metrics, _, grads = run_loss(method, model, {}, batch)
    assert float(metrics["logit_scale"]) == pytest.approx(scale, rel=1e-5)
    assert np.isfinite(float(loss)) and float(jnp.abs(grads["log_logit_scale"])) > 0
    if bias is None:
        assert model.logit_bias is None
    else:
        assert float(model.logit_bias[...]) == bias
    embed_dim = method.options.embed_dim
    assert method.embed_text(model, batch["text"]).shape == (BATCH, embed_dim)
    assert method.embed_image(model, batch["image"]).shape == (BATCH, embed_dim)
    assert method.embed(model, batch["image"]).shape == (BATCH, model.encoder.feature_dim)


def test_clip_scale_is_capped_at_100():
    method = build("clip", arg="dataset=captions:digits,scale=tiny")
    model, _ = method.init(jax.random.key(0), make_batch(text_len=6))
    model.log_logit_scale[...] = jnp.asarray(math.log(1000.0))
    assert float(method.logit_scale(model)) == pytest.approx(100.0, rel=1e-5)


@pytest.mark.parametrize("name, num_views", [("dcl", 2), ("vicreg", 2), ("mv_dhel", 3)])
def test_projected_view_methods_support_exact_grad_cache(name, num_views):
    config = importlib.import_module(f"configs.{name}").get_config("dataset=digits,scale=tiny")
    # No batch-coupled layers, so chunking is exact.
    config.encoder = dict(name="convnet", widths=(4,), num_pooled=1, norm="none")
    config.method.proj_norm = "none"
    config.augment = dict(name="none", num_views=num_views)
    config.batch_size = BATCH
    views = tuple(jnp.roll(jnp.asarray(make_batch()["image"], jnp.float32) / 255.0, v, axis=2)
                  for v in range(num_views))
    method = build_method(config, image_shape=(8, 8, 1),
                          make_views=lambda rng, images: views, num_classes=3)
    check_grad_cache(method, 4, BATCH)
    optimizer = optax.sgd(0.1)
    graphdef_box = {}

    def init(rng):
        graphdef_box["graphdef"], state = init_train_state(method, optimizer, rng, make_batch())
        return state

    state = jax.jit(init).lower(jax.random.key(0)).compile(FAST_COMPILE)(jax.random.key(0))
    kwargs = dict(graphdef=graphdef_box["graphdef"], method=method, seed=0)
    full = jax.jit(functools.partial(loss_and_grads, **kwargs))
    cached = jax.jit(functools.partial(grad_cache_loss_and_grads, chunk_size=4, **kwargs))
    (loss_full, _), grads_full = full(state, make_batch())
    (loss_cached, _), grads_cached = cached(state, make_batch())
    np.testing.assert_allclose(float(loss_cached), float(loss_full), rtol=1e-5)
    for a, b in zip(jax.tree.leaves(grads_cached), jax.tree.leaves(grads_full)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_supcon_declines_grad_cache():
    with pytest.raises(ValueError, match="grad_cache is not available for method SupCon"):
        check_grad_cache(build("supcon"), 4, BATCH)
