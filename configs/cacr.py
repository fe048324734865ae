"""CACR: contrastive attraction and contrastive repulsion (Zheng et al., 2021) on the offline
MNIST subset.

    python -m contrastive_jax.main --config=configs/cacr.py --workdir=runs/cacr
    python -m contrastive_jax.main --config=configs/cacr.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/cacr.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.method.tau_neg=2``.

The released small-scale recipe draws 5 views per image (Ny = 4 positives) with all weights'
temperatures and cost scales at 1; here 4 views on the convnet. The loss has no blockwise form
(``method.loss_block_size`` must stay 0); ``--config.method.cross_device=all_gather`` shards it.
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 300
    config.augment = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                          grayscale_p=0.0, blur_p=0.0, num_views=4)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 2e-3
    config.optimizer.warmup_steps = 30
    config.method = dict(name="cacr", tau_pos=1.0, tau_neg=1.0, alpha=1.0, beta=1.0,
                         proj_hidden_dim=512, proj_dim=128, proj_layers=2)
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    config.eval.every_steps = 100
    return common.at_scale(config, args.scale, "cacr.py",
                           tiny={"augment.num_views": 3})
