"""DirectPred: BYOL with a predictor set from the eigenbasis of its inputs (Tian et al., 2021).

    python -m contrastive_jax.main --config=configs/directpred.py --workdir=runs/directpred
    python -m contrastive_jax.main --config=configs/directpred.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/directpred.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.eps=0.01``.
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 600
    config.augment = dict(name="byol", crop_scale=(0.4, 1.0), flip=False,
                          jitter=(0.4, 0.4, 0.0, 0.0), grayscale_p=0.0, blur_p=(0.5, 0.1),
                          solarize_p=(0.0, 0.2))
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 1e-3
    config.method = dict(name="directpred", base_momentum=0.99, momentum_schedule="cosine",
                         proj_hidden_dim=512, proj_dim=128, proj_layers=2, rho=0.3, eps=0.1)
    return common.at_scale(config, args.scale, "directpred.py")
