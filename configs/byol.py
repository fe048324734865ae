"""BYOL: predict an EMA target's projection of the other view (Grill et al., 2020).

    python -m contrastive_jax.main --config=configs/byol.py --workdir=runs/byol
    python -m contrastive_jax.main --config=configs/byol.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/byol.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...
  scale: small (default) | tiny (smoke test) | paper (ImageNet, ResNet-50, batch 4096; below)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.base_momentum=0.996``; ``--config.method.predictor=linear`` (or ``none``)
for the predictor ablation of experiments/directpred.py.

The paper's base momentum 0.996 is for 300+ epochs; 0.99 suits the 600 steps here.

``scale=paper``: BYOL's ImageNet recipe (Grill et al., 2020, Sec. 3.3 and App. A-B) for a
**100-epoch** run, on ``tfds:imagenet2012`` prepared in the array_record format. The paper
trains for 1000 epochs (base lr 0.2, weight decay 1.5e-6, tau_base 0.996); for 100 epochs this
uses the official code's presets for that length (google-deepmind/deepmind-research,
byol/configs/byol.py: base lr 0.45, weight decay 1e-6, tau_base 0.99). On a TPU pod slice
(every host runs the same command):

    python -m contrastive_jax.main --config=configs/byol.py:scale=paper \
        --config.dataset.data_dir=gs://BUCKET/tensorflow_datasets \
        --workdir=gs://BUCKET/runs/byol_r50_100ep

It mirrors: ResNet-50 v1 (ImageNet stem), projector 2048-4096-256 (BatchNorm and ReLU in the
hidden layer, no BatchNorm on the output), predictor 256-4096-256 of the same form, the
symmetrized normalized-MSE loss, target EMA from tau_base 0.99 to 1 on a cosine schedule,
LARS at lr = 0.45 x 4096/256 = 7.2 (momentum 0.9; biases and BatchNorm excluded from weight
decay and the trust ratio), weight decay 1e-6, 10 warmup epochs then cosine decay, 100 epochs
at batch 4096 (31,278 steps), and the paper's asymmetric augmentation at 224 px (App. B,
Table 6: crop 0.08-1, flip, jitter (0.4, 0.4, 0.2, 0.1) with p 0.8, grayscale 0.2, blur 1.0 /
0.1, solarize 0 / 0.2). The paper's 1000-epoch run: ``--config.total_steps=312785
--config.optimizer.learning_rate=3.2 --config.optimizer.weight_decay=1.5e-6
--config.method.base_momentum=0.996``.
It differs from the paper in: bfloat16 activations; BatchNorm statistics over the global batch
of both views under jit (the paper: cross-replica BatchNorm per view); the evaluation is a
weighted kNN on frozen centre-crop features every 5000 steps and at the end (the paper's
linear evaluation trains a linear layer on augmented crops in a separate run; the library's
full-batch probe is off at this size, see ``common.paper_scale``).
BYOL has no batch-coupled loss, so no loss_block_size / cross_device is set. The learning rate
is computed for batch 4096: with ``--config.batch_size`` set it too.
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
    paper = lambda c: paper_recipe(c, args.dataset)
    return common.at_scale(config, args.scale, "byol.py", paper=paper)


def paper_recipe(config, dataset: str) -> None:
    """``scale=paper`` (see the module docstring): BYOL, ResNet-50, 100 epochs."""
    common.paper_scale(config, dataset, batch_size=4096, epochs=100, warmup_epochs=10,
                       base_learning_rate=0.45, weight_decay=1e-6)
    config.augment = dict(name="byol", crop_scale=(0.08, 1.0), flip=True,
                          jitter=(0.4, 0.4, 0.2, 0.1), grayscale_p=0.2, blur_p=(1.0, 0.1),
                          solarize_p=(0.0, 0.2))
    config.encoder = dict(name="resnet50", width_multiplier=1.0, stem="imagenet")
    config.method = dict(name="byol", base_momentum=0.99, momentum_schedule="cosine",
                         proj_hidden_dim=4096, proj_dim=256, proj_layers=2,
                         pred_hidden_dim=4096, predictor="mlp")
