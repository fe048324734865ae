"""ProtoCLIP (Chen et al., 2022): CLIP plus prototype-level discrimination between the image
and text spaces, with Prototypical Back Translation; the episode is the batch.

    python -m contrastive_jax.main --config=configs/protoclip.py --workdir=runs/protoclip
    python -m contrastive_jax.main --config=configs/protoclip.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/protoclip.py:dataset=captions:mnist5k,scale=small``):
  dataset: captions:mnist5k | captions:digits | composites:mnist5k   scale: small | tiny
``num_prototypes`` is one per 10 batch examples (the release: 20k prototypes per 200k-example
episode); ``target_temperature`` 0.01, ``proto_dim`` 128, 20 k-means rounds, weights 1 and 1
are the released recipe's.
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="captions:mnist5k", scale="small")
    config = common.image_text_config(args, dict(
        name="protoclip", num_prototypes=25, proto_dim=128, target_temperature=0.01,
        kmeans_iterations=20, clip_weight=1.0, proto_weight=1.0))
    tiny = {**common.IMAGE_TEXT_TINY, "method.num_prototypes": 4, "method.proto_dim": 16,
            "method.kmeans_iterations": 3}
    return common.at_scale(config, args.scale, "protoclip.py", tiny=tiny)
