"""MV-InfoNCE: one InfoNCE term per example over all V views (Koromilas et al., 2025).

    python -m contrastive_jax.main --config=configs/mv_infonce.py --workdir=runs/mv_infonce
    python -m contrastive_jax.main --config=configs/mv_infonce.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/mv_infonce.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.augment.num_views=6``; ``--config.method.aggregation=pairwise`` averages pairwise
NT-Xent terms over the same views instead (the baseline of experiments/multiview.py).
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 600
    config.augment = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                          grayscale_p=0.0, blur_p=0.0, num_views=4)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 2e-3
    config.method = dict(name="mv_infonce", temperature=0.1, proj_hidden_dim=512, proj_dim=128,
                         proj_layers=2, aggregation="joint")
    # How the loss is computed, not what: the joint loss has no blockwise form, so
    # loss_block_size stays 0; --config.method.cross_device=all_gather shards it.
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    return common.at_scale(config, args.scale, "mv_infonce.py",
                           tiny={"augment.num_views": 3})
