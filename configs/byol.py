"""BYOL: predict an EMA target's projection of the other view (Grill et al., 2020).

    python -m contrastive_jax.main --config=configs/byol.py --workdir=runs/byol
    python -m contrastive_jax.main --config=configs/byol.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/byol.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.base_momentum=0.996``; ``--config.method.predictor=linear`` (or ``none``)
for the predictor ablation of experiments/directpred.py.

The paper's base momentum 0.996 is for 300+ epochs; 0.99 suits the 600 steps here.
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
    config.method = dict(name="byol", base_momentum=0.99, momentum_schedule="cosine",
                         proj_hidden_dim=512, proj_dim=128, proj_layers=2, pred_hidden_dim=512,
                         predictor="mlp")
    return common.at_scale(config, args.scale, "byol.py")
