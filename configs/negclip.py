"""NegCLIP (Yuksekgonul et al., 2023): CLIP with word-swapped hard negative captions, on
two-digit MNIST composites ("a 3 left of a 7" vs "a 7 left of a 3").

    python -m contrastive_jax.main --config=configs/negclip.py --workdir=runs/negclip
    python -m contrastive_jax.main --config=configs/negclip.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/negclip.py:dataset=composites:mnist5k,scale=small``):
  dataset: composites:mnist5k (a source with ``text_negative``)   scale: small | tiny
``--config.dataset.kinds=order|attribute|both`` picks the composites' caption kinds.
summary.json's rows report ``order_accuracy`` (held-out images closer to their caption than to
its swap); ``configs/clip.py:dataset=composites:mnist5k`` is the CLIP baseline to compare.
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="composites:mnist5k", scale="small")
    config = common.image_text_config(args, dict(name="negclip"))
    if str(args.dataset).startswith("composites:"):
        config.dataset.kinds = "both"
    return common.at_scale(config, args.scale, "negclip.py", tiny=common.IMAGE_TEXT_TINY)
