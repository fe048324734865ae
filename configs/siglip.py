"""SigLIP: pairwise sigmoid image-caption loss (Zhai et al., 2023) on captioned MNIST.

    python -m contrastive_jax.main --config=configs/siglip.py --workdir=runs/siglip
    python -m contrastive_jax.main --config=configs/siglip.py:scale=tiny --workdir=/tmp/t

    python -m contrastive_jax.main --config=configs/siglip.py:scale=paper --workdir=gs://b/siglip \\
        --config.dataset.data_dir=gs://b/tensorflow_datasets          # on a pod

Arguments (``--config=configs/siglip.py:dataset=captions:digits,scale=small``):
  dataset: captions:mnist5k | captions:digits | tfds:<image-text set> | ...
  scale: small (default) | tiny (smoke test) | paper

``scale=paper`` is the paper's from-scratch SigLIP B/16 setting (Zhai et al., 2023) on
LAION-400M (``tfds:laion400m/images``; WebLI is not public): 224 px, batch 32,768, the
sigmoid loss with learnable t' = log 10 and bias b = -10 at init, AdamW with b2 = 0.95 (the
paper's fix for large-batch instability), lr 1e-3, weight decay 1e-4, a 768-d ViT-B/16 and a
12-layer 768-wide text transformer over 16 tokens of a 32,000-id vocabulary (the paper's is a
SentencePiece model; ours a byte-level BPE trained on the first million captions), the loss
blockwise (1,024 keys) through the ring of devices, bfloat16 activations. Two choices are
ours and should be checked against the run you reproduce: 9B examples seen (274,658 steps;
the paper trains several lengths) and 5,000 warmup steps. Evaluation: held-out image<->text
Recall@K.
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.bias_init=-5.0``.

Batches carry the caption tokens (``text``); the text tower is ``config.method.text_encoder``.
"""

import math

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="captions:mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 600
    config.augment = dict(name="weak", num_views=1, crop_scale=(0.6, 1.0), flip=False)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 1e-3
    # The digit captions use 35 token ids; 64 leaves room.
    text_encoder = dict(name="text_transformer", vocab_size=64, width=64, depth=2, num_heads=4,
                        causal=True, pool="last")
    config.method = dict(name="siglip", embed_dim=64, log_scale_init=math.log(10.0),
                         bias_init=-10.0, text_encoder=text_encoder)
    # How the loss is computed, not what: --config.method.loss_block_size=1024 streams key
    # blocks; --config.method.cross_device=all_gather|ring shards it over the mesh.
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    return common.at_scale(config, args.scale, "siglip.py", paper=lambda c: paper(c, args.dataset),
                           tiny={"method.text_encoder.width": 16, "method.text_encoder.depth": 1,
                                 "method.text_encoder.num_heads": 2, "method.embed_dim": 16})


def paper(config, dataset: str) -> None:
    """SigLIP B/16 from scratch (Zhai et al., 2023): see the module docstring."""
    common.image_text_paper_scale(
        config, dataset, batch_size=32_768, examples_seen=9e9, warmup_steps=5_000,
        learning_rate=1e-3, weight_decay=1e-4, b2=0.95, eps=1e-8, text_length=16,
        vocab_size=32_000, embed_dim=768, text_width=768, text_depth=12, text_heads=12)
    config.method.log_scale_init = math.log(10.0)
    config.method.bias_init = -10.0
