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
    return common.catalog_config(
        arg, "siglip.py", learning_rate=1e-3, augment=common.CAPTION_AUGMENT,
        dataset="captions:mnist5k",
        method=dict(name="siglip", embed_dim=64, log_scale_init=math.log(10.0), bias_init=-10.0,
                    text_encoder=common.SMALL_TEXT_TRANSFORMER),
        tiny=common.TINY_TEXT_TRANSFORMER)
