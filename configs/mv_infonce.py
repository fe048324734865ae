"""MV-InfoNCE: one InfoNCE term per example over all V views (Koromilas et al., 2025).

    python -m contrastive_jax.main --config=configs/mv_infonce.py --workdir=runs/mv_infonce
    python -m contrastive_jax.main --config=configs/mv_infonce.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/mv_infonce.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.augment.num_views=6``.
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.augment = dict(name="simclr", num_views=4, crop_scale=(0.4, 1.0), flip=False,
                          jitter_strength=0.5, grayscale_p=0.0, blur_p=0.0)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.method = dict(name="mv_infonce", temperature=0.1, proj_hidden_dim=512, proj_dim=128,
                         proj_layers=2)
    config.optimizer.learning_rate = 2e-3
    config.batch_size = 256
    config.total_steps = 600
    if args.scale == "tiny":
        config.encoder.widths = (8, 16)
        config.method.proj_hidden_dim = 32
        config.method.proj_dim = 16
        config.augment.num_views = 3
        config.batch_size = 16
        config.total_steps = 4
        config.optimizer.warmup_steps = 1
        config.eval.every_steps = 2
        config.eval.batch_size = 250
        config.checkpoint.every_steps = 2
        config.log_every_steps = 1
    elif args.scale != "small":
        raise ValueError(f"configs/mv_infonce.py: unknown scale {args.scale!r} (small | tiny).")
    return config
