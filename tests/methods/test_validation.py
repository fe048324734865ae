"""Impossible method settings fail when the method is built, before anything compiles, with a
message naming the setting and the fix."""

import importlib

import jax
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.train.build import build_method, build_views


def build(name, *, arg="dataset=digits,scale=tiny", augment=None, **method_changes):
    config = importlib.import_module(f"configs.{name}").get_config(arg)
    if augment is not None:
        config.augment = augment
    for key, value in method_changes.items():
        if key == "batch_size":
            config.batch_size = value
        else:
            config.method[key] = value
    return build_method(config, image_shape=(8, 8, 1), make_views=build_views(config.augment),
                        num_classes=10)


@pytest.mark.parametrize("name", ["moco_v2", "mochi", "nnclr", "swav"])
@pytest.mark.parametrize("queue_size", [40, 8])
def test_queue_must_be_a_multiple_of_the_global_batch(name, queue_size):
    with pytest.raises(ValueError, match=rf"queue_size={queue_size} must be a positive multiple "
                                         r"of the global batch size config.batch_size=16"):
        build(name, queue_size=queue_size)


def test_queue_sizes_that_divide_are_accepted():
    assert build("moco_v2", queue_size=32).options.queue_size == 32
    assert build("swav", queue_size=0).options.queue_size == 0  # 0: SwAV without a queue


def test_zero_prototypes_are_rejected():
    with pytest.raises(ValueError, match=r"num_prototypes must be >= 1 .*got 0"):
        build("swav", num_prototypes=0)


@pytest.mark.parametrize("name", ["byol", "moco_v2", "moco_v3", "directpred", "mochi"])
@pytest.mark.parametrize("momentum", [1.5, -0.1])
def test_ema_momentum_must_be_in_unit_interval(name, momentum):
    with pytest.raises(ValueError, match=r"base_momentum must be an EMA momentum in \[0, 1\], "
                                         rf"got {momentum}"):
        build(name, base_momentum=momentum)


def test_unknown_momentum_schedule_is_rejected():
    with pytest.raises(ValueError, match="momentum_schedule must be one of"):
        build("byol", momentum_schedule="linear")


@pytest.mark.parametrize("name", ["mv_infonce", "mv_dhel", "byol", "simsiam", "dcl", "supcon"])
def test_multi_view_methods_need_two_views(name):
    with pytest.raises(ValueError, match=rf"method '{name}' needs at least 2 views per example, "
                                         r"but augment 'none' makes 1"):
        build(name, augment=dict(name="none", num_views=1))


def test_swav_assignment_crops_must_exist():
    with pytest.raises(ValueError, match=r"crops_for_assign=\(0, 9\) must name crops in \[0, 4\)"):
        build("swav", crops_for_assign=(0, 9))


def test_mochi_cannot_pick_more_hard_negatives_than_the_queue_holds():
    with pytest.raises(ValueError, match=r"num_hard=100 must be in \[1, queue_size=64\]"):
        build("mochi", num_hard=100)


def test_wmse_needs_more_examples_than_dimensions():
    with pytest.raises(ValueError, match="batch_size=16 must exceed config.method.proj_dim"):
        build("wmse", proj_dim=16)


def test_directpred_correlation_ema_must_be_below_one():
    with pytest.raises(ValueError, match=r"rho .* must be in \[0, 1\), got 1.0"):
        build("directpred", rho=1.0)


@pytest.mark.parametrize("name", ["clip", "siglip"])
def test_image_text_methods_need_captions(name):
    with pytest.raises(ValueError, match="use a captions:<source> dataset .* got 'digits'"):
        build(name)
    with pytest.raises(ValueError, match="Unknown encoder 'bert'"):
        build(name, arg="dataset=captions:digits,scale=tiny",
              text_encoder=dict(name="bert", vocab_size=64))


def test_clip_rejects_a_vocabulary_smaller_than_the_tokens():
    method = build("clip", arg="dataset=captions:digits,scale=tiny",
                   text_encoder=dict(name="text_transformer", vocab_size=8, width=8, depth=1,
                                     num_heads=2))
    batch = {"image": np.zeros((2, 8, 8, 1), np.uint8), "label": np.zeros(2, np.int32),
             "text": np.array([[3, 20, 0], [4, 5, 0]], np.int32)}
    with pytest.raises(ValueError, match="token id 20 >= text_encoder.vocab_size=8"):
        method.init(jax.random.key(0), batch)


QUEUE_KEYS = {"moco_v2": "queue", "mochi": "queue", "nnclr": "support"}


@pytest.mark.parametrize("name", ["simclr", "dcl", "dclw", "supcon", "moco_v2", "mochi",
                                  "moco_v3", "byol", "simsiam", "directpred", "swav",
                                  "barlow_twins", "vicreg", "wmse", "nnclr", "mv_infonce",
                                  "mv_dhel", "clip", "siglip"])
def test_default_scale_configs_pass_their_checks_and_initialize(name):
    """The small (default) configs build, and their model and state initialize (shapes only)."""
    config = importlib.import_module(f"configs.{name}").get_config("")
    method = build_method(config, image_shape=(28, 28, 1), make_views=build_views(config.augment),
                          num_classes=10)
    batch = {"image": np.zeros((2, 28, 28, 1), np.uint8), "label": np.zeros(2, np.int32),
             "text": np.ones((2, 16), np.int32)}
    model, method_state = nnx.eval_shape(lambda: method.init(jax.random.key(0), batch))
    assert sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))) > 10_000
    if name in QUEUE_KEYS:
        assert method_state[QUEUE_KEYS[name]].shape == (config.method.queue_size,
                                                        config.method.proj_dim)
