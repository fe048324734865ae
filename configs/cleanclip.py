"""CleanCLIP (Bansal et al., 2023): CLIP plus in-modality contrastive terms (image vs its
augmented view, caption vs its augmented caption), weighted 1 and 1.

    python -m contrastive_jax.main --config=configs/cleanclip.py --workdir=runs/cleanclip
    python -m contrastive_jax.main --config=configs/cleanclip.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/cleanclip.py:dataset=captions:mnist5k,scale=small``):
  dataset: captions:mnist5k | captions:digits | composites:mnist5k   scale: small | tiny
CleanCLIP is a fine-tuning recipe (a pre-trained CLIP fine-tuned on clean pairs); this config
trains from scratch with the same objective (the library has no warm start from another run's
checkpoint yet). Options: ``clip_weight``, ``inmodal_weight``, ``text_deletion``.
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="captions:mnist5k", scale="small")
    config = common.image_text_config(args, dict(name="cleanclip", clip_weight=1.0, inmodal_weight=1.0,
                                          text_deletion=0.1), num_views=2)
    return common.at_scale(config, args.scale, "cleanclip.py", tiny=common.IMAGE_TEXT_TINY)
