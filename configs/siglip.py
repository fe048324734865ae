"""SigLIP: pairwise sigmoid image-caption loss (Zhai et al., 2023) on captioned MNIST.

    python -m contrastive_jax.main --config=configs/siglip.py --workdir=runs/siglip
    python -m contrastive_jax.main --config=configs/siglip.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/siglip.py:dataset=captions:digits,scale=small``):
  dataset: captions:mnist5k | captions:digits | ...      scale: small (default) | tiny (smoke test)
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
    return common.at_scale(config, args.scale, "siglip.py",
                           tiny={"method.text_encoder.width": 16, "method.text_encoder.depth": 1,
                                 "method.text_encoder.num_heads": 2, "method.embed_dim": 16})
