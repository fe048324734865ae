"""Soft-target CLIP (PyramidCLIP's softened negatives, Gao et al., 2022): the CLIP loss with
label-smoothed targets (``1 - a`` on the pair, ``a / (B - 1)`` on each other caption).

    python -m contrastive_jax.main --config=configs/soft_clip.py --workdir=runs/soft_clip
    python -m contrastive_jax.main --config=configs/soft_clip.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/soft_clip.py:dataset=captions:mnist5k,scale=small``):
  dataset: captions:mnist5k | captions:digits | composites:mnist5k   scale: small | tiny
``--config.method.smoothing=0.2`` is ``a`` (0: plain CLIP).
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="captions:mnist5k", scale="small")
    config = common.image_text_config(args, dict(name="soft_clip", smoothing=0.2))
    return common.at_scale(config, args.scale, "soft_clip.py", tiny=common.IMAGE_TEXT_TINY)
