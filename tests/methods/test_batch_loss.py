"""``config.method.loss_block_size`` / ``cross_device``: every form of ``methods.batch_loss``
gives the NumPy value of the global-batch loss (8 simulated devices, a 4 x 2 (data, fsdp) mesh
set the way ``train.step.make_train_step`` sets it), and impossible combinations fail at config
time naming the valid ones. The one-step equality of whole training steps is the slow
``tests/train/test_sharded_loss.py``."""

import functools
import importlib

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from contrastive_jax import losses
from contrastive_jax.methods import batch_loss as bl
from contrastive_jax.methods.base import Method
from contrastive_jax.methods.options import BatchLossOptions
from contrastive_jax.registry import METHODS
from contrastive_jax.train import build
from tests.losses import helpers as h

# ("ring", 3): 8 keys per device in blocks of 3, the last one padded (no divisibility needed).
FORMS = [("global", 0), ("global", 8), ("all_gather", 0), ("all_gather", 8), ("ring", 8),
         ("ring", 3)]
MESH = Mesh(np.asarray(jax.devices()).reshape(4, 2), ("data", "fsdp"))
SHARDED = NamedSharding(MESH, P(("data", "fsdp")))


def nt_xent_reference(z1, z2, t):
    """NT-Xent (Chen et al., 2020) in float64: each of the 2B anchors against the other 2B - 1."""
    z = h.unit(np.concatenate([z1, z2]))
    n = len(z1)
    logits = z @ z.T / t
    np.fill_diagonal(logits, -np.inf)
    positive = logits[np.arange(2 * n), (np.arange(2 * n) + n) % (2 * n)]
    return np.mean(h.log_sum_exp(logits) - positive)


def clip_reference(x, y, scale):
    """CLIP's symmetric cross-entropy of the scaled cosine logits, in float64."""
    logits = scale * h.unit(x) @ h.unit(y).T
    diagonal = np.diag(logits)
    return 0.5 * (np.mean(h.log_sum_exp(logits, 1) - diagonal)
                  + np.mean(h.log_sum_exp(logits, 0) - diagonal))


def _under_mesh(fn):
    """``fn`` jitted and traced under the mesh, as ``make_train_step`` traces the step (its
    arguments must be placed on the mesh, as the train step's in_shardings place them)."""
    def traced(*args):
        with jax.sharding.use_abstract_mesh(MESH.abstract_mesh):
            return fn(*args)
    return h.jit(traced)


def _options(cross_device, block):
    return BatchLossOptions(cross_device=cross_device, loss_block_size=block)


def test_every_form_gives_the_global_nt_xent_and_its_gradient():
    z1, z2 = h.normal(0, 32, 6), h.normal(1, 32, 6)  # 4 examples (8 keys) per device
    loss_fn = functools.partial(losses.nt_xent, temperature=0.3)

    def all_forms(a, b):
        return [jax.value_and_grad(
            lambda a, b, o=_options(*form): bl.batch_loss(loss_fn, (a, b), options=o),
            argnums=(0, 1))(a, b) for form in FORMS]

    results = _under_mesh(all_forms)(jax.device_put(z1, SHARDED), jax.device_put(z2, SHARDED))
    expected = nt_xent_reference(z1, z2, 0.3)
    naive_grads = results[0][1]
    assert min(float(np.max(np.abs(g))) for g in naive_grads) > 0
    for form, (value, grads) in zip(FORMS, results):
        h.assert_close(value, expected, err_msg=form)
        for g, g_naive in zip(grads, naive_grads):
            h.assert_close(g, g_naive, rtol=1e-5, atol=1e-6, err_msg=form)


def test_clip_ring_with_a_replicated_scale_matches_numpy():
    x, y, scale = h.normal(2, 64, 5), h.normal(3, 64, 5), np.float32(7.0)
    options = _options("ring", 8)

    def loss_fn(image, text, s, **kwargs):
        return losses.clip(image, text, logit_scale=s, **kwargs)

    def both(x, y, s):
        sharded = jax.grad(lambda s: bl.batch_loss(loss_fn, (x, y), (s,), options=options))(s)
        naive = jax.grad(lambda s: loss_fn(x, y, s))(s)
        return bl.batch_loss(loss_fn, (x, y), (s,), options=options), sharded, naive

    value, grad_scale, naive_grad_scale = _under_mesh(both)(
        jax.device_put(x, SHARDED), jax.device_put(y, SHARDED),
        jax.device_put(scale, NamedSharding(MESH, P())))
    h.assert_close(value, clip_reference(x, y, 7.0))
    assert abs(float(naive_grad_scale)) > 0
    h.assert_close(grad_scale, naive_grad_scale)  # the scale's cotangent summed over devices


def test_views_sharded_along_the_batch_axis_of_v_b_d():
    z = h.normal(4, 3, 16, 5)  # [V, B, D]: the batch is axis 1
    loss_fn = functools.partial(losses.mv_dhel, temperature=0.2)
    gathered, local = _under_mesh(lambda z: (
        bl.batch_loss(loss_fn, (z,), options=_options("all_gather", 0), batch_dim=1),
        loss_fn(z)))(jax.device_put(z, NamedSharding(MESH, P(None, ("data", "fsdp")))))
    assert abs(float(local)) > 0
    h.assert_close(gathered, local)


def test_a_sharded_loss_without_a_mesh_says_how_to_set_one():
    with pytest.raises(ValueError, match="use_abstract_mesh.*or use cross_device='global'"):
        bl.batch_loss(losses.nt_xent, (np.ones((4, 2)),) * 2, options=_options("ring", 2))


def test_retrieval_accuracy_in_blocks_is_the_dense_one():
    x, y = h.normal(5, 10, 4), h.normal(6, 10, 4)
    y[:5] = x[:5]  # the first five are retrieved
    expected = np.mean(np.argmax(x @ y.T, axis=1) == np.arange(10))
    for block in (0, 3, 10):
        h.assert_close(bl.retrieval_accuracy(x, y, block), expected)


# --- config time --------------------------------------------------------------------------

BATCH_COUPLED = ["simclr", "dcl", "dclw", "supcon", "moco_v3", "mv_infonce", "mv_dhel", "clip",
                 "siglip", "cacr", "groco", "simclr_amcl", "moco_v3_amcl"]
# Losses without a blockwise form: all-gathered keys at most.
DENSE_ONLY = {"mv_infonce", "mv_dhel", "cacr", "groco", "simclr_amcl", "moco_v3_amcl"}
BATCH_COUPLED += ["negclip", "soft_clip", "cleanclip", "protoclip"]  # the CLIP family
BATCH_COUPLED += ["supremix", "supcon_bins"]  # regression (methods.regression), dense only
DENSE_ONLY |= {"supremix", "supcon_bins"}
BATCH_COUPLED += ["simcse", "esimcse", "debcse"]  # sentence embeddings (methods.sentence)
DENSE_ONLY |= {"debcse"}


def _config(name, **overrides):
    config = importlib.import_module(f"configs.{name}").get_config("scale=tiny")
    for key, value in overrides.items():
        section, leaf = key.split(".")
        config[section][leaf] = value
    return config


@pytest.mark.parametrize("name", BATCH_COUPLED)
def test_batch_coupled_configs_show_the_options_and_take_ring(name):
    config = _config(name)
    assert (config.method.loss_block_size, config.method.cross_device) == (0, "global")
    build.validate_config(config)
    form = ("all_gather", 0) if name in DENSE_ONLY else ("ring", 64)
    build.validate_config(_config(name, **{"method.cross_device": form[0],
                                           "method.loss_block_size": form[1]}))


def test_the_other_methods_do_not_declare_them():
    for name in METHODS.names():
        declared = issubclass(METHODS.get(name).options_type, BatchLossOptions)
        assert declared == (name in BATCH_COUPLED), name


@pytest.mark.parametrize("name, overrides, message", [
    ("simclr", {"method.cross_device": "ring"}, "set config.method.loss_block_size > 0"),
    ("simclr", {"method.cross_device": "pmap"}, r"one of \('global', 'all_gather', 'ring'\)"),
    ("simclr", {"method.loss_block_size": -1}, "loss_block_size must be an int >= 0"),
    ("mv_dhel", {"method.cross_device": "ring", "method.loss_block_size": 8},
     r"cross_device in \('global', 'all_gather'\), got 'ring'"),
    ("mv_infonce", {"method.loss_block_size": 8}, "no blockwise form"),
    ("cacr", {"method.loss_block_size": 8}, "no blockwise form .its repulsion is a softmax"),
    ("groco", {"method.loss_block_size": 8}, "no blockwise form .its negatives are a top-k"),
    ("simclr_amcl", {"method.loss_block_size": 8}, "no blockwise form .its negative term"),
    ("moco_v3_amcl", {"method.loss_block_size": 8}, "no blockwise form .its negative term"),
    ("simclr", {"method.cross_device": "all_gather", "grad_cache.chunk_size": 16},
     "use config.method.cross_device='global'"),
])
def test_impossible_combinations_fail_at_config_time(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        build.validate_config(_config(name, **overrides))


def test_pairwise_multiview_has_nt_xents_forms():
    build.validate_config(_config("mv_infonce", **{
        "method.aggregation": "pairwise", "method.cross_device": "ring",
        "method.loss_block_size": 8}))


def test_a_method_that_does_not_pass_them_on_rejects_them():
    """A new method inheriting the options keeps ``Method.loss_forms``: global, naive only."""
    options = BatchLossOptions(cross_device="all_gather")
    with pytest.raises(ValueError, match=r"cross_device in \('global',\)"):
        bl.check_loss_form("margin_simclr", options, Method.loss_forms(options))
