"""``scale=paper`` for CLIP and SigLIP: ViT-B/16 on LAION-400M (``tfds:laion400m/images``) at
batch 32k with the loss through the ring. The recipes are checked against the papers' numbers,
and each trains 2 steps through ``main.run`` on mocked LAION (``tfds.testing.mock_data``: random
images and random-letter captions) with the model and batch shrunk by overrides only (slow)."""

import json
import math

import pytest

from configs import clip, siglip
from contrastive_jax.train import build

# (config module, the paper's numbers).
PAPER = {
    # Radford et al. (2021), Table 20 (ViT-B/16) and Section 2.5: 32 epochs of 400M pairs.
    "clip": (clip, dict(steps=round(32 * 400e6 / 32_768), lr=5e-4, wd=0.2, b2=0.98, eps=1e-6,
                        warmup=2_000, text_length=77, vocab=49_408, embed_dim=512,
                        text=(512, 12, 8))),
    # Zhai et al. (2023): lr 1e-3, wd 1e-4, b2 0.95, 16 tokens, 32k vocabulary.
    "siglip": (siglip, dict(steps=round(9e9 / 32_768), lr=1e-3, wd=1e-4, b2=0.95, eps=1e-8,
                            warmup=5_000, text_length=16, vocab=32_000, embed_dim=768,
                            text=(768, 12, 12))),
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_image_text_paper_config_has_the_papers_recipe(name):
    module, paper = PAPER[name]
    config = module.get_config("scale=paper")
    build.validate_config(config)
    assert config.dataset.name == "tfds:laion400m/images"
    assert (config.dataset.image_size, config.dataset.text_key) == (224, "caption")
    assert (config.dataset.text_length, config.dataset.text_vocab_size) == (
        paper["text_length"], paper["vocab"])
    assert (config.encoder.name, config.encoder.patch_size, config.encoder.width,
            config.encoder.depth, config.encoder.num_heads) == ("vit", 16, 768, 12, 12)
    text = config.method.text_encoder
    assert (text.width, text.depth, text.num_heads) == paper["text"]
    assert text.vocab_size == paper["vocab"] and text.causal and text.pool == "last"
    assert config.method.embed_dim == paper["embed_dim"]
    assert config.batch_size == 32_768 and config.total_steps == paper["steps"]
    optimizer = config.optimizer
    assert (optimizer.name, optimizer.b1, optimizer.b2, optimizer.eps) == (
        "adamw", 0.9, paper["b2"], paper["eps"])
    assert (optimizer.learning_rate, optimizer.weight_decay, optimizer.warmup_steps) == (
        paper["lr"], paper["wd"], paper["warmup"])
    assert (config.method.loss_block_size, config.method.cross_device) == (1024, "ring")
    assert config.dtype == "bfloat16" and config.mesh.data == -1


def test_clip_and_siglip_paper_temperatures():
    assert clip.get_config("scale=paper").method.log_scale_init == pytest.approx(
        math.log(1 / 0.07))
    assert clip.get_config("scale=paper").method.max_logit_scale == 100.0
    config = siglip.get_config("scale=paper")
    assert config.method.log_scale_init == pytest.approx(math.log(10.0))
    assert config.method.bias_init == -10.0


def shrink(config):
    """The paper config at CPU size, by overrides only: a 1-layer 32-wide ViT at 32 px, a
    1-layer text tower over a 300-id BPE, batch 16, 2 steps, blocks of 8 keys."""
    config.dataset.image_size = 32
    config.dataset.text_vocab_size = 300
    config.dataset.tokenizer_examples = 200
    config.encoder.update(dict(width=32, depth=1, num_heads=2))
    config.method.text_encoder.update(dict(vocab_size=300, width=16, depth=1, num_heads=2))
    config.method.embed_dim = 16
    config.method.loss_block_size = 8
    config.batch_size = 16
    config.total_steps = 2
    config.optimizer.warmup_steps = 1
    config.eval.every_steps = 2
    config.eval.batch_size = 150
    config.checkpoint.every_steps = 2
    config.log_every_steps = 1
    return config


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER))
def test_image_text_paper_config_trains_two_steps_on_mock_laion(tmp_path, name):
    pytest.importorskip("tensorflow", reason="TFDS builds laion400m with TensorFlow")
    import tensorflow_datasets as tfds

    from contrastive_jax import main

    config = shrink(PAPER[name][0].get_config("scale=paper"))
    with tfds.testing.mock_data(num_examples=300, policy=tfds.testing.MockPolicy.USE_CODE):
        assert main.run(config, str(tmp_path / "run")) == 0
    summary = json.load(open(tmp_path / "run" / "summary.json"))
    assert summary["steps"] == 2 and summary["held_out_examples"] == 300  # mock_data ignores split slicing
    assert set(summary["results"]) == {"learned", "random_init"}  # no raw-pixel row: no labels
    for row in summary["results"].values():
        assert 0.0 <= row["i2t_recall@1"] <= row["i2t_recall@5"] <= row["i2t_recall@10"] <= 1.0
        assert 0.0 <= row["t2i_recall@1"] <= 1.0 and "knn" not in row
    metrics = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert "i2t_recall@1" in metrics[-1] and "knn_accuracy" not in metrics[-1]
