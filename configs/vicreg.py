"""VICReg: variance, invariance and covariance terms on two views (Bardes et al., 2022).

    python -m contrastive_jax.main --config=configs/vicreg.py --workdir=runs/vicreg
    python -m contrastive_jax.main --config=configs/vicreg.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/vicreg.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.cov_weight=4.0``.
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
    config.optimizer.learning_rate = 1e-3
    config.method = dict(name="vicreg", sim_weight=25.0, var_weight=25.0, cov_weight=1.0,
                         proj_hidden_dim=512, proj_dim=512, proj_layers=3)
    return common.at_scale(config, args.scale, "vicreg.py",
                           tiny={"method.proj_dim": 32})
