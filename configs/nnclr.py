"""NNCLR: the nearest neighbour in a support queue is the positive (Dwibedi et al., 2021).

    python -m contrastive_jax.main --config=configs/nnclr.py --workdir=runs/nnclr
    python -m contrastive_jax.main --config=configs/nnclr.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/nnclr.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.queue_size=2048``.

The support queue (1,024 projections) must be a multiple of the global batch.
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
    config.method = dict(name="nnclr", temperature=0.1, queue_size=1024, proj_hidden_dim=512,
                         proj_dim=128, proj_layers=3, proj_last_norm=True, pred_hidden_dim=512)
    return common.at_scale(config, args.scale, "nnclr.py",
                           tiny={"method.queue_size": 64})
