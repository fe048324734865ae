"""SimSiam: stop-gradient and a predictor, no negatives or momentum encoder (Chen & He, 2021).

    python -m contrastive_jax.main --config=configs/simsiam.py --workdir=runs/simsiam
    python -m contrastive_jax.main --config=configs/simsiam.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/simsiam.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.pred_hidden_dim=256``; ``--config.method.predictor=none`` (or ``linear``)
for the predictor ablation.
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
    config.method = dict(name="simsiam", proj_hidden_dim=512, proj_dim=512, proj_layers=3,
                         proj_last_norm=True, pred_hidden_dim=128, predictor="mlp")
    return common.at_scale(config, args.scale, "simsiam.py",
                           tiny={"method.proj_dim": 32, "method.pred_hidden_dim": 8})
