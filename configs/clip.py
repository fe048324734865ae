"""CLIP: contrastive image-caption pre-training (Radford et al., 2021) on captioned MNIST.

    python -m contrastive_jax.main --config=configs/clip.py --workdir=runs/clip
    python -m contrastive_jax.main --config=configs/clip.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/clip.py:dataset=captions:digits,scale=small``):
  dataset: captions:mnist5k | captions:digits | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.embed_dim=128``.

Batches carry the caption tokens (``text``); the text tower is ``config.method.text_encoder``.
"""

import math

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "clip.py", learning_rate=1e-3, augment=common.CAPTION_AUGMENT,
        dataset="captions:mnist5k",
        method=dict(name="clip", embed_dim=64, log_scale_init=math.log(1 / 0.07),
                    max_logit_scale=100.0, text_encoder=common.SMALL_TEXT_TRANSFORMER),
        tiny=common.TINY_TEXT_TRANSFORMER)
