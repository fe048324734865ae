"""MoCo v3: momentum encoder, predictor and symmetric in-batch InfoNCE (Chen et al., 2021).

    python -m contrastive_jax.main --config=configs/moco_v3.py --workdir=runs/moco_v3
    python -m contrastive_jax.main --config=configs/moco_v3.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/moco_v3.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...
  scale: small (default) | tiny (smoke test) | paper (ImageNet, ResNet-50, batch 4096; below)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.temperature=1.0``.

``scale=paper``: MoCo v3's ResNet-50, 100-epoch ImageNet recipe (Chen, Xie and He, 2021,
"An Empirical Study of Training Self-Supervised Vision Transformers", Sec. 4 and App. A for
ResNet-50; the numbers are those of the official code's 100-epoch reference command,
facebookresearch/moco-v3 CONFIG.md, and its main_moco.py defaults), on ``tfds:imagenet2012``
prepared in the array_record format. On a TPU pod slice (every host runs the same command):

    python -m contrastive_jax.main --config=configs/moco_v3.py:scale=paper \
        --config.dataset.data_dir=gs://BUCKET/tensorflow_datasets \
        --workdir=gs://BUCKET/runs/moco_v3_r50_100ep

It mirrors: ResNet-50 (ImageNet stem, zero-initialised last BatchNorm of each residual block),
a 2-layer projector 2048-4096-256 and a 2-layer predictor 256-4096-256 (BatchNorm in the hidden
layers, and after the projector's output), symmetric in-batch InfoNCE at temperature 1.0
(scaled by 2t) over the global batch of 4096, momentum 0.99 rising to 1 on a cosine schedule,
LARS at lr = 0.6 x 4096/256 = 9.6 (momentum 0.9; biases and BatchNorm excluded from weight
decay and the trust ratio), weight decay 1e-6, 10 warmup epochs then cosine decay, 100 epochs
(31,278 steps), BYOL's asymmetric augmentation at 224 px with crop scale 0.2-1 (blur 1.0 / 0.1,
solarize 0 / 0.2, jitter (0.4, 0.4, 0.2, 0.1) with p 0.8, grayscale 0.2). The loss is computed
blockwise (1024 keys at a time) around a ring of the devices.
It differs from the reference in: bfloat16 activations (the reference uses PyTorch AMP);
BatchNorm statistics over the global batch of both views (the reference uses SyncBN per view);
the predictor ends in a biased Linear layer (the reference: a non-affine BatchNorm, as the
projector's output has here too); the evaluation is a weighted kNN on frozen centre-crop
features every 5000 steps and at the end (the reference's linear classification, 90 epochs of
SGD, is a separate run; the library's full-batch probe is off at this size, see
``common.paper_scale``). The 300-epoch reference uses lr 0.3 x batch/256 (``--config.optimizer.learning_rate=4.8``).
The learning rate is computed for batch 4096: with ``--config.batch_size`` set it too.
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
    config.method = dict(name="moco_v3", temperature=0.2, base_momentum=0.99,
                         momentum_schedule="cosine", proj_hidden_dim=512, proj_dim=128,
                         proj_layers=3, proj_last_norm=True, pred_hidden_dim=512)
    # How the loss is computed, not what: --config.method.loss_block_size=1024 streams key
    # blocks; --config.method.cross_device=all_gather|ring shards it over the mesh.
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    paper = lambda c: paper_recipe(c, args.dataset)
    return common.at_scale(config, args.scale, "moco_v3.py", paper=paper)


def paper_recipe(config, dataset: str) -> None:
    """``scale=paper`` (see the module docstring): MoCo v3, ResNet-50, 100 epochs."""
    common.paper_scale(config, dataset, batch_size=4096, epochs=100, warmup_epochs=10,
                       base_learning_rate=0.6, weight_decay=1e-6)
    config.augment = dict(name="byol", crop_scale=(0.2, 1.0), flip=True,
                          jitter=(0.4, 0.4, 0.2, 0.1), grayscale_p=0.2, blur_p=(1.0, 0.1),
                          solarize_p=(0.0, 0.2))
    config.encoder = dict(name="resnet50", width_multiplier=1.0, stem="imagenet",
                          zero_init_residual=True)
    config.method = dict(name="moco_v3", temperature=1.0, base_momentum=0.99,
                         momentum_schedule="cosine", proj_hidden_dim=4096, proj_dim=256,
                         proj_layers=2, proj_last_norm=True, pred_hidden_dim=4096,
                         loss_block_size=1024, cross_device="ring")
