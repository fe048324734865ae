"""SogCLR: the global contrastive loss with per-example moving-average estimators (Yuan et al.,
2022), which makes small batches train like large ones.

    python -m contrastive_jax.main --config=configs/sogclr.py --workdir=runs/sogclr
    python -m contrastive_jax.main --config=configs/sogclr.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/sogclr.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.method.gamma=0.5``.

SimCLR's recipe (``configs/simclr.py``) with the loss swapped: every training example keeps its
estimator u_i (``method_state["log_u"]``, indexed by ``batch["index"]``), checkpointed with the
run. The official code's defaults: temperature 0.1, gamma 0.9. The loss value is SogCLR's
surrogate (its gradient is the estimator), on cosines: it is not comparable with NT-Xent's.
Batch 128 (SimCLR's config: 256), so each example's estimator is updated ~15 times (epochs).
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 128  # the paper's point: small batches
    config.total_steps = 600
    config.augment = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                          grayscale_p=0.0, blur_p=0.0)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 2e-3
    config.optimizer.warmup_steps = 30
    config.method = dict(name="sogclr", temperature=0.1, gamma=0.9, proj_hidden_dim=512,
                         proj_dim=128, proj_layers=2)
    config.eval.every_steps = 200
    return common.at_scale(config, args.scale, "sogclr.py",
                           tiny={"total_steps": 4, "eval.every_steps": 2})
