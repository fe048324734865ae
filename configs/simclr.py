"""SimCLR (NT-Xent) with a small convnet (or a ResNet-18 / ViT) on the offline MNIST subset.

    python -m contrastive_jax.main --config=configs/simclr.py --workdir=runs/simclr
    python -m contrastive_jax.main --config=configs/simclr.py:scale=tiny --workdir=/tmp/t
    python -m contrastive_jax.main --config=configs/simclr.py:encoder=resnet18 --workdir=runs/r18

Arguments (``--config=configs/simclr.py:dataset=digits,scale=small,encoder=vit``):
  dataset: mnist5k | digits | tfds:<name> | folder | ...
  scale: small (default) | tiny (smoke test) | paper (ImageNet, ResNet-50, batch 4096; below)
    ``dataset=folder``: a folder of labelled photos of any size (name it with
    ``--config.dataset.name=folder:/path``), cropped on the host to ``dataset.image_size`` (64)
    RGB, with the full SimCLR augmentation (crop 0.08-1, flip, jitter 1.0, grayscale, blur).
  encoder: convnet (default) | resnet18 | vit        (the recipes in ENCODERS below)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.total_steps=1000``.
``--config.encoder.name=<name>`` switches the encoder alone: options the new encoder does not
take (e.g. the convnet's ``widths``) are dropped with a note, the rest keep its defaults.

``scale=paper``: SimCLR's own ImageNet recipe (Chen et al., 2020, Sec. 2.3 "Default setting"
and the official README's ImageNet command), on ``tfds:imagenet2012`` prepared in the
array_record format. On a TPU pod slice (every host runs the same command):

    python -m contrastive_jax.main --config=configs/simclr.py:scale=paper \
        --config.dataset.data_dir=gs://BUCKET/tensorflow_datasets \
        --workdir=gs://BUCKET/runs/simclr_r50_100ep

It mirrors: ResNet-50 (ImageNet stem), projection MLP 2048-2048-128 with BatchNorm, NT-Xent at
temperature 0.1 over the global batch of 4096 (8190 negatives per view), LARS at
lr = 0.3 x 4096/256 = 4.8 (momentum 0.9, no weight decay or trust ratio on biases and
BatchNorm), weight decay 1e-6, 10 warmup epochs then cosine decay, 100 epochs (31,278 steps),
the full augmentation at 224 px (crop 0.08-1, flip, colour jitter strength 1.0 with p 0.8,
grayscale 0.2, blur 0.5; App. A), BatchNorm statistics over the global batch (the paper's
global BN), and the official code's zero-initialised last BatchNorm of each residual block.
The loss is computed blockwise (1024 keys at a time) around a ring of the devices, so no
device holds the [8192, 8192] logits.
It differs from the paper in: bfloat16 activations (parameters and the loss stay float32);
the evaluation is a weighted kNN on frozen centre-crop features every 5000 steps and at the
end (the paper's linear evaluation, a linear layer trained for 90 epochs on augmented crops,
is a separate run; the library's full-batch probe is off at this size, see
``common.paper_scale``). The learning rate is computed for batch 4096: with
``--config.batch_size`` set the learning rate too.
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
    paper = lambda c: paper_recipe(c, args.dataset)
    return common.at_scale(config, args.scale, "simclr.py",
                           tiny={"batch_size": 32, "total_steps": 6, "optimizer.warmup_steps": 2,
                                 "eval.every_steps": 3}, paper=paper)


def paper_recipe(config, dataset: str) -> None:
    """``scale=paper`` (see the module docstring): Chen et al., 2020, Sec. 2.3 "Default
    setting", Sec. 5.1 / Table 5 (temperature 0.1 at batch 4096) and App. A (augmentation)."""
    common.paper_scale(config, dataset, batch_size=4096, epochs=100, warmup_epochs=10,
                       base_learning_rate=0.3, weight_decay=1e-6)
    config.augment = dict(name="simclr", crop_scale=(0.08, 1.0), flip=True, jitter_strength=1.0,
                          grayscale_p=0.2, blur_p=0.5)
    config.encoder = dict(name="resnet50", width_multiplier=1.0, stem="imagenet",
                          zero_init_residual=True)
    config.method = dict(name="simclr", temperature=0.1, proj_hidden_dim=2048, proj_dim=128,
                         proj_layers=2, loss_block_size=1024, cross_device="ring")
