"""AMCL on MoCo v3: three heads (projector + predictor each) with pair-adaptive temperatures
(Wang et al., 2023) on the offline MNIST subset.

    python -m contrastive_jax.main --config=configs/moco_v3_amcl.py --workdir=runs/moco_v3_amcl
    python -m contrastive_jax.main --config=configs/moco_v3_amcl.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/moco_v3_amcl.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.method.num_heads=5``.

configs/moco_v3.py's recipe (momentum 0.99 on the cosine schedule, 3-layer projector ending in
BatchNorm, MLP predictor) with the released AMCL defaults (3 heads, beta 0.01, top-100 negatives,
temperatures up to 2.0) except ``tau_min`` 0.05 instead of 1e-5 (see configs/simclr_amcl.py).
The negatives are the batch's other keys (MoCo v3), not a queue. No blockwise form.
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
    config.method = dict(name="moco_v3_amcl", base_momentum=0.99, momentum_schedule="cosine",
                         proj_hidden_dim=512,
                         proj_dim=128, proj_layers=3, proj_last_norm=True, pred_hidden_dim=512,
                         num_heads=3, beta=0.01, tau_min=0.05, tau_max=2.0, top_k=100,
                         temperature_hidden_dim=0)
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    return common.at_scale(config, args.scale, "moco_v3_amcl.py",
                           tiny={"method.num_heads": 2})
