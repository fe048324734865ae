"""MoCo v2 with feature transformation: positive extrapolation and negative interpolation (Zhu
et al., 2021) on the offline MNIST subset.

    python -m contrastive_jax.main --config=configs/moco_v2_ft.py --workdir=runs/moco_v2_ft
    python -m contrastive_jax.main --config=configs/moco_v2_ft.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/moco_v2_ft.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.extrapolate=False``.

configs/moco_v2.py's recipe plus the released defaults of the transformation: one draw per step
of ``l = 1 + Beta(2, 2)`` (extrapolation of the query-key pair) and ``m ~ Beta(1.6, 1.6)``
(interpolation of the queue with a permutation of itself).
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 600
    config.augment = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                          grayscale_p=0.0, blur_p=0.0)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 2e-3
    config.method = dict(name="moco_v2_ft", temperature=0.2, base_momentum=0.99,
                         momentum_schedule="constant", queue_size=1024, proj_hidden_dim=512,
                         proj_dim=128, proj_layers=2, pos_alpha=2.0, neg_alpha=1.6,
                         extrapolate=True)
    return common.at_scale(config, args.scale, "moco_v2_ft.py",
                           tiny={"method.queue_size": 64})
