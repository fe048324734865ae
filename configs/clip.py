"""CLIP: contrastive image-caption pre-training (Radford et al., 2021) on captioned MNIST.

    python -m contrastive_jax.main --config=configs/clip.py --workdir=runs/clip
    python -m contrastive_jax.main --config=configs/clip.py:scale=tiny --workdir=/tmp/t

    python -m contrastive_jax.main --config=configs/clip.py:scale=paper --workdir=gs://b/clip \\
        --config.dataset.data_dir=gs://b/tensorflow_datasets          # on a pod

Arguments (``--config=configs/clip.py:dataset=captions:digits,scale=small``):
  dataset: captions:mnist5k | captions:digits | tfds:<image-text set> | ...
  scale: small (default) | tiny (smoke test) | paper

``scale=paper`` is the paper's ViT-B/16 recipe (Radford et al., 2021, Table 20 and Section
2.5) on LAION-400M (``tfds:laion400m/images``; CLIP's own WIT-400M is not public): 224 px,
batch 32,768, 32 epochs of 400M pairs (390,625 steps), AdamW with b2 0.98, eps 1e-6, lr 5e-4,
weight decay 0.2, 2,000 warmup steps then cosine decay, learnable temperature from 0.07
clipped at 100, a 512-d joint space, a 12-layer 512-wide 8-head causal text transformer over
77 byte-level BPE tokens (49,408 ids; our BPE is trained on the first million captions, not
CLIP's), the only augmentation a random square crop; the loss blockwise (1,024 keys) through
the ring of devices; bfloat16 activations. Evaluation: held-out image<->text Recall@K.
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.embed_dim=128``.

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
    # The digit captions use 35 token ids (captions.tokenizer_for(...).vocab_size); 64 leaves
    # room.
    text_encoder = dict(name="text_transformer", vocab_size=64, width=64, depth=2, num_heads=4,
                        causal=True, pool="last")
    config.method = dict(name="clip", embed_dim=64, log_scale_init=math.log(1 / 0.07),
                         max_logit_scale=100.0, text_encoder=text_encoder)
    # How the loss is computed, not what: --config.method.loss_block_size=1024 streams key
    # blocks; --config.method.cross_device=all_gather|ring shards it over the mesh.
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    return common.at_scale(config, args.scale, "clip.py", paper=lambda c: paper(c, args.dataset),
                           tiny={"method.text_encoder.width": 16, "method.text_encoder.depth": 1,
                                 "method.text_encoder.num_heads": 2, "method.embed_dim": 16})


def paper(config, dataset: str) -> None:
    """CLIP ViT-B/16 (Radford et al., 2021): see the module docstring."""
    common.image_text_paper_scale(
        config, dataset, batch_size=32_768, examples_seen=32 * 400e6, warmup_steps=2_000,
        learning_rate=5e-4, weight_decay=0.2, b2=0.98, eps=1e-6, text_length=77,
        vocab_size=49_408, embed_dim=512, text_width=512, text_depth=12, text_heads=8)
    config.method.log_scale_init = math.log(1 / 0.07)
    config.method.max_logit_scale = 100.0
