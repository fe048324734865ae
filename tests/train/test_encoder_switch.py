"""Switching the encoder by name: options of the previous encoder are dropped with a one-line
note, and the main entry point trains a ResNet and a ViT end to end (tiny, in-process)."""

import json
import os

import pytest

from configs import simclr
from contrastive_jax import main
from contrastive_jax.methods.base import encoder_options
from contrastive_jax.train.build import validate_config


def test_options_the_encoder_does_not_take_are_dropped_and_named(capsys):
    convnet_options = dict(widths=(8, 16), num_pooled=2, pool="flatten")
    kwargs, dropped = encoder_options(dict(name="resnet18", width_multiplier=0.125,
                                           **convnet_options))
    assert kwargs == {"width_multiplier": 0.125}
    assert dropped == ["num_pooled", "pool", "widths"]
    kwargs, dropped = encoder_options(dict(name="convnet", **convnet_options))
    assert (kwargs, dropped) == (convnet_options, [])
    config = simclr.get_config("dataset=digits,scale=tiny")
    config.encoder.name = "resnet18"
    validate_config(config)
    assert capsys.readouterr().out.strip() == (
        "note: encoder 'resnet18' takes no option(s) num_pooled, pool, widths; they are ignored.")


def test_the_config_arguments_pick_resnet_and_vit_recipes():
    assert simclr.get_config("encoder=resnet18").encoder.to_dict() == dict(
        name="resnet18", width_multiplier=0.25, stem="cifar")
    vit = simclr.get_config("encoder=vit,scale=tiny").encoder.to_dict()
    assert vit == dict(name="vit", patch_size=4, width=16, depth=1, num_heads=2, pool="mean")
    with pytest.raises(ValueError, match="unknown encoder 'bert'"):
        simclr.get_config("encoder=bert")


def short_run(config, workdir) -> dict:
    """One step, no online evaluation, the final kNN only: the smoke test of an encoder."""
    config.total_steps = 1
    config.eval.every_steps = 100
    config.eval.final_linear_probe = False
    config.eval.final_baselines = False
    config.eval.plot_embedding = False
    config.progress_bar = False
    assert main.run(config, str(workdir)) == 0
    return json.loads((workdir / "summary.json").read_text())


@pytest.mark.slow  # ~150 s on a shared 2-core CPU (ResNet compile on 8 simulated devices)
def test_main_trains_a_resnet18_switched_by_name(tmp_path):
    config = simclr.get_config("dataset=digits,scale=tiny")
    config.encoder.name = "resnet18"  # as --config.encoder.name=resnet18, over convnet options
    config.encoder.width_multiplier = 0.125  # keeps the smoke test small
    summary = short_run(config, tmp_path)
    assert summary["steps"] == 1
    assert json.loads((tmp_path / "config.json").read_text())["encoder"]["name"] == "resnet18"
    assert 0.0 <= summary["results"]["learned"]["knn"] <= 1.0


def test_main_trains_a_vit(tmp_path):
    config = simclr.get_config("dataset=digits,scale=tiny,encoder=vit")
    summary = short_run(config, tmp_path)
    assert summary["steps"] == 1 and os.path.exists(tmp_path / "metrics.jsonl")
    assert 0.0 <= summary["results"]["learned"]["knn"] <= 1.0
