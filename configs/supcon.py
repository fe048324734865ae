"""SupCon: supervised contrastive learning with the dataset's labels (Khosla et al., 2020).

    python -m contrastive_jax.main --config=configs/supcon.py --workdir=runs/supcon
    python -m contrastive_jax.main --config=configs/supcon.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/supcon.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.temperature=0.07``.
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
    config.method = dict(name="supcon", temperature=0.1, base_temperature=0.1,
                         proj_hidden_dim=512, proj_dim=128, proj_layers=2)
    # How the loss is computed, not what: --config.method.loss_block_size=1024 streams key
    # blocks; --config.method.cross_device=all_gather|ring shards it over the mesh.
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    return common.at_scale(config, args.scale, "supcon.py")
