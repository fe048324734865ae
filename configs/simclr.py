"""SimCLR (NT-Xent) with a small convnet (or a ResNet-18 / ViT) on the offline MNIST subset.

    python -m contrastive_jax.main --config=configs/simclr.py --workdir=runs/simclr
    python -m contrastive_jax.main --config=configs/simclr.py:scale=tiny --workdir=/tmp/t
    python -m contrastive_jax.main --config=configs/simclr.py:encoder=resnet18 --workdir=runs/r18

Arguments (``--config=configs/simclr.py:dataset=digits,scale=small,encoder=vit``):
  dataset: mnist5k | digits | tfds:<name> | folder | ...   scale: small (default) | tiny (smoke test)
    ``dataset=folder``: a folder of labelled photos of any size (name it with
    ``--config.dataset.name=folder:/path``), cropped on the host to ``dataset.image_size`` (64)
    RGB, with the full SimCLR augmentation (crop 0.08-1, flip, jitter 1.0, grayscale, blur).
  encoder: convnet (default) | resnet18 | vit        (the recipes in ENCODERS below)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.total_steps=1000``.
``--config.encoder.name=<name>`` switches the encoder alone: options the new encoder does not
take (e.g. the convnet's ``widths``) are dropped with a note, the rest keep its defaults.
"""

from configs import common

# encoder=<name>: CPU-sized recipes for 28x28 (and 8x8) images; scale=tiny narrows each.
ENCODERS = {
    "convnet": dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten"),
    # The CIFAR stem (3x3 conv, no max-pool) keeps small images from vanishing; 16 channels.
    "resnet18": dict(name="resnet18", width_multiplier=0.25, stem="cifar"),
    # 4x4 patches divide both 28 and 8; mean-pooled tokens.
    "vit": dict(name="vit", patch_size=4, width=64, depth=4, num_heads=4, pool="mean"),
}


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small", encoder="convnet")
    if args.encoder not in ENCODERS:
        raise ValueError(f"configs/simclr.py: unknown encoder {args.encoder!r} "
                         f"({' | '.join(ENCODERS)}).")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 300
    config.augment = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                          grayscale_p=0.0, blur_p=0.0)
    config.encoder = dict(ENCODERS[args.encoder])
    config.optimizer.learning_rate = 2e-3
    config.optimizer.warmup_steps = 30
    config.method = dict(name="simclr", temperature=0.2, proj_hidden_dim=512, proj_dim=128,
                         proj_layers=2)
    # How the loss is computed, not what: --config.method.loss_block_size=1024 streams key
    # blocks; --config.method.cross_device=all_gather|ring shards it over the mesh.
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    config.eval.every_steps = 100
    if args.dataset == "folder":
        common.image_folder_dataset(config)
    return common.at_scale(config, args.scale, "simclr.py",
                           tiny={"batch_size": 32, "total_steps": 6, "optimizer.warmup_steps": 2,
                                 "eval.every_steps": 3})
