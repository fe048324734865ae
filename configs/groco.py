"""GroCo: group ordering constraints through a relaxed odd-even sorting network (Shvetsova et
al., 2023) on the offline MNIST subset.

    python -m contrastive_jax.main --config=configs/groco.py --workdir=runs/groco
    python -m contrastive_jax.main --config=configs/groco.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/groco.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.steepness=10``.

The released defaults: the top-10 negatives, Cauchy relaxation, steepness 1, the odd-even
network (``--config.method.sorting_network=bitonic``: Batcher's bitonic network, fewer layers
for many inputs), stop-gradient on the pairs' far side; two views here (``--config.augment.num_views=4`` gives three positives per
anchor). No blockwise form (``method.loss_block_size`` must stay 0).
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 300
    config.augment = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                          grayscale_p=0.0, blur_p=0.0)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 2e-3
    config.optimizer.warmup_steps = 30
    config.method = dict(name="groco", num_negatives=10, steepness=1.0, relaxation="cauchy",
                         sorting_network="odd_even", stop_gradient=True, proj_hidden_dim=512,
                         proj_dim=128, proj_layers=2)
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    config.eval.every_steps = 100
    return common.at_scale(config, args.scale, "groco.py",
                           tiny={"method.num_negatives": 4})
