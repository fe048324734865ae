"""MoCo v2: momentum key encoder and a queue of negatives (He et al., 2020; Chen et al., 2020).

    python -m contrastive_jax.main --config=configs/moco_v2.py --workdir=runs/moco_v2
    python -m contrastive_jax.main --config=configs/moco_v2.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/moco_v2.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.queue_size=2048``.

The queue (1,024 keys) must be a multiple of the global batch; the paper's momentum 0.999
suits long runs, 0.99 the 600 steps here.
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
    config.method = dict(name="moco_v2", temperature=0.2, base_momentum=0.99,
                         momentum_schedule="constant", queue_size=1024, proj_hidden_dim=512,
                         proj_dim=128, proj_layers=2)
    return common.at_scale(config, args.scale, "moco_v2.py",
                           tiny={"method.queue_size": 64})
