"""``scale=paper``: the SimCLR, MoCo v3 and BYOL ImageNet recipes build and validate (default
tier, no data read), carry the papers' numbers, and each trains 2 steps through ``main.run``
on mocked ``tfds:imagenet2012`` with the model and batch shrunk by config overrides only
(slow tier)."""

import json

import pytest

from configs import byol, common, moco_v3, simclr
from contrastive_jax.train import build

IMAGENET_TRAIN = 1_281_167  # ILSVRC-2012 train images
STEPS_100_EPOCHS = 31_278  # round(100 * 1,281,167 / 4096)
WARMUP_10_EPOCHS = 3_128  # round(10 * 1,281,167 / 4096)

# (config module, the paper's numbers): learning rate = base x 4096 / 256, weight decay.
PAPER = {
    "simclr": (simclr, dict(learning_rate=0.3 * 16, weight_decay=1e-6)),  # 4.8
    "moco_v3": (moco_v3, dict(learning_rate=0.6 * 16, weight_decay=1e-6)),  # 9.6
    "byol": (byol, dict(learning_rate=0.45 * 16, weight_decay=1e-6)),  # 7.2, 100-epoch preset
}


def paper_config(name):
    return PAPER[name][0].get_config("scale=paper")


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_config_validates_and_builds_its_method_without_data(name):
    config = paper_config(name)
    build.validate_config(config)
    assert config.dataset.name == "tfds:imagenet2012"
    assert (config.dataset.image_size, config.dataset.channels) == (224, 3)
    make_views = build.build_views(config.augment)
    method = build.build_method(config, image_shape=(224, 224, 3), make_views=make_views,
                                num_classes=1000)
    assert method.batch_size == 4096 and method.total_steps == STEPS_100_EPOCHS
    assert method.num_views == 2


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_config_has_the_papers_schedule_and_optimizer(name):
    config = paper_config(name)
    expected = PAPER[name][1]
    assert config.batch_size == 4096
    assert config.total_steps == STEPS_100_EPOCHS == round(100 * IMAGENET_TRAIN / 4096)
    assert config.optimizer.name == "lars" and config.optimizer.momentum == 0.9
    assert config.optimizer.learning_rate == pytest.approx(expected["learning_rate"])
    assert config.optimizer.weight_decay == expected["weight_decay"]
    assert config.optimizer.warmup_steps == WARMUP_10_EPOCHS
    assert config.optimizer.final_lr_fraction == 0.0 and not config.optimizer.decay_all
    assert (config.encoder.name, config.encoder.width_multiplier, config.encoder.stem) == (
        "resnet50", 1.0, "imagenet")
    assert config.dtype == "bfloat16" and config.mesh.data == -1
    assert config.eval.batch_size == 1024 and config.eval.every_steps == 5000
    assert not (config.eval.final_baselines or config.eval.final_linear_probe)


def test_simclr_paper_method_and_augmentation():
    config = paper_config("simclr")
    method = config.method
    assert (method.temperature, method.proj_hidden_dim, method.proj_dim, method.proj_layers) \
        == (0.1, 2048, 128, 2)
    assert (method.loss_block_size, method.cross_device) == (1024, "ring")
    views = build.build_views(config.augment)
    recipe = views.recipes[0]
    assert recipe == views.recipes[1]
    assert recipe.crop_scale == (0.08, 1.0) and recipe.flip_p == 0.5
    assert recipe.jitter == pytest.approx((0.8, 0.8, 0.8, 0.2)) and recipe.jitter_p == 0.8
    assert (recipe.grayscale_p, recipe.blur_p, recipe.solarize_p) == (0.2, 0.5, 0.0)


def test_moco_v3_paper_method_and_augmentation():
    config = paper_config("moco_v3")
    method = config.method
    assert (method.temperature, method.base_momentum, method.momentum_schedule) == (
        1.0, 0.99, "cosine")
    assert (method.proj_hidden_dim, method.proj_dim, method.proj_layers,
            method.pred_hidden_dim, method.proj_last_norm) == (4096, 256, 2, 4096, True)
    assert (method.loss_block_size, method.cross_device) == (1024, "ring")
    assert config.encoder.zero_init_residual
    first, second = build.build_views(config.augment).recipes
    for recipe in (first, second):
        assert recipe.crop_scale == (0.2, 1.0)
        assert recipe.jitter == pytest.approx((0.4, 0.4, 0.2, 0.1)) and recipe.jitter_p == 0.8
    assert (first.blur_p, first.solarize_p, second.blur_p, second.solarize_p) == (
        1.0, 0.0, 0.1, 0.2)


def test_byol_paper_method_and_augmentation():
    config = paper_config("byol")
    method = config.method
    assert (method.base_momentum, method.momentum_schedule, method.predictor) == (
        0.99, "cosine", "mlp")
    assert (method.proj_hidden_dim, method.proj_dim, method.proj_layers,
            method.pred_hidden_dim) == (4096, 256, 2, 4096)
    assert not method.get("proj_last_norm", False)
    first, second = build.build_views(config.augment).recipes
    assert first.crop_scale == second.crop_scale == (0.08, 1.0)
    assert (first.blur_p, first.solarize_p, second.blur_p, second.solarize_p) == (
        1.0, 0.0, 0.1, 0.2)


def test_paper_scale_takes_another_dataset_and_names_itself_in_the_scale_error():
    config = simclr.get_config("scale=paper,dataset=tfds:imagenette")
    assert (config.dataset.name, config.dataset.image_size) == ("tfds:imagenette", 224)
    build.validate_config(config)
    with pytest.raises(ValueError, match=r"unknown scale 'huge' \(small \| tiny \| paper\)"):
        byol.get_config("scale=huge")
    assert common.epochs_to_steps(1000, 4096) == 312_785


def shrink(config):
    """The paper config at CPU size, by overrides only: a 1/8-wide ResNet-50 at 32 px, small
    heads, batch 16, 2 steps, blocks of 8 keys."""
    config.dataset.image_size = 32
    config.encoder.width_multiplier = 0.125
    for key, value in (("proj_hidden_dim", 32), ("proj_dim", 16), ("pred_hidden_dim", 32),
                       ("loss_block_size", 8)):
        if key in config.method:
            config.method[key] = value
    config.batch_size = 16
    config.total_steps = 2
    config.optimizer.warmup_steps = 1
    config.eval.every_steps = 2
    config.eval.batch_size = 32
    config.eval.plot_embedding = False
    config.checkpoint.every_steps = 2
    config.log_every_steps = 1
    return config


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_config_trains_two_steps_on_mock_imagenet(tmp_path, name):
    import tensorflow_datasets as tfds

    from contrastive_jax import main

    config = shrink(paper_config(name))
    with tfds.testing.mock_data(num_examples=64, policy=tfds.testing.MockPolicy.USE_CODE):
        assert main.run(config, str(tmp_path / "run")) == 0
    summary = json.load(open(tmp_path / "run" / "summary.json"))
    assert summary["steps"] == 2
    learned = summary["results"]["learned"]
    assert learned["feature_dim"] == 2048 // 8  # ResNet-50's 2048 features at width 1/8
    assert 0.0 <= learned["knn"] <= 1.0 and "linear_probe" not in learned  # kNN only
    assert set(summary["results"]) == {"learned"}  # no pixel / random-init baselines
