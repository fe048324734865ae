"""MoCHi: MoCo v2 with synthetic hard negatives mixed in feature space (Kalantidis et al., 2020).

    python -m contrastive_jax.main --config=configs/mochi.py --workdir=runs/mochi
    python -m contrastive_jax.main --config=configs/mochi.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/mochi.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.num_hard=512``.

The paper's (N, s, s') = (1024, 1024, 128) for a 16k queue; scaled to a 1,024-key queue here.
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
    config.method = dict(name="mochi", temperature=0.2, base_momentum=0.99,
                         momentum_schedule="constant", queue_size=1024, num_hard=256,
                         num_mix_negatives=256, num_mix_query=64, proj_hidden_dim=512,
                         proj_dim=128, proj_layers=2)
    return common.at_scale(config, args.scale, "mochi.py",
                           tiny={"method.queue_size": 64, "method.num_hard": 16,
                                 "method.num_mix_negatives": 8, "method.num_mix_query": 4})
