"""AMCL's gain grows with the number of augmentations (Wang et al., 2023): SimCLR and
SimCLR + AMCL (3 heads, adaptive temperatures) trained with crops only and with crops plus
colour jitter and blur; the gain of AMCL should be larger with the richer augmentation."""

from __future__ import annotations

from experiments.spec import (
    LOW_LABEL, TINY_LOW_LABEL, Cell, Column, Experiment, PaperNumbers, paired, small_run,
    verdict_from)

AUGMENTATIONS = {
    "crop": ({"augment.jitter_strength": 0.0, "augment.blur_p": 0.0},
             "random resized crop only"),
    "multi": ({"augment.jitter_strength": 0.5, "augment.blur_p": 0.5},
              "crop + colour jitter (0.5) + Gaussian blur (p 0.5)"),
}
METHODS = {"simclr": ("configs/simclr.py", "SimCLR"),
           "amcl": ("configs/simclr_amcl.py", "SimCLR + AMCL (3 heads)")}
METRIC = "learned.low_label_probe_10shot"
SMALL_STEPS = 300
IMAGENET_TRAIN_IMAGES = 1281167
PAPER_BATCH = 256

SMALL = small_run(SMALL_STEPS, batch_size=256, **LOW_LABEL)
TINY_RUN = {**TINY_LOW_LABEL, "batch_size": 16}
# SimCLR's ImageNet recipe (ResNet-50, LARS, 100 epochs) at 224 px.
PAPER = {**LOW_LABEL, "dataset.name": "tfds:imagenet2012", "encoder": {"name": "resnet50"},
         "method.proj_hidden_dim": 2048,
         "method.proj_dim": 128, "optimizer.name": "lars",
         "optimizer.learning_rate": 0.3 * PAPER_BATCH / 256, "optimizer.weight_decay": 1e-6,
         "optimizer.warmup_steps": 10 * IMAGENET_TRAIN_IMAGES // PAPER_BATCH,
         "batch_size": PAPER_BATCH, "total_steps": 100 * IMAGENET_TRAIN_IMAGES // PAPER_BATCH,
         "eval.low_label_shots": (13, 128)}


def paper_views(views: dict) -> dict:
    """The augmentation at 224 px with ``views``' settings (dotted ``augment.*`` keys)."""
    return {"name": "simclr", "out_size": (224, 224),
            **{key.split(".", 1)[1]: value for key, value in views.items()}}


def name(method: str, augmentation: str) -> str:
    return f"{method}_{augmentation}"


def _cells() -> tuple[Cell, ...]:
    cells = []
    for augmentation, (views, described) in AUGMENTATIONS.items():
        for method, (config, label) in METHODS.items():
            cells.append(Cell(name(method, augmentation), config,
                              label={"method": label, "augmentation": described},
                              overrides={"tiny": {**TINY_RUN, **views},
                                         "small": {**SMALL, **views},
                                         "paper": {**PAPER, "augment": paper_views(views)}}))
    return tuple(cells)


def verdict(results):
    """Claimed differences (paired by seed): AMCL minus SimCLR > 0 with each augmentation, and
    the gain with the multiple augmentations minus the gain with crops only > 0."""
    gains = [paired(results, f"AMCL - SimCLR, {a}",
                    [(1, name("amcl", a), METRIC), (-1, name("simclr", a), METRIC)])
             for a in AUGMENTATIONS]
    more = paired(results, "gain with multiple augmentations minus gain with crops only",
                  [(1, name("amcl", "multi"), METRIC), (-1, name("simclr", "multi"), METRIC),
                   (-1, name("amcl", "crop"), METRIC), (1, name("simclr", "crop"), METRIC)])
    return verdict_from([*gains, more])


EXPERIMENT = Experiment(
    slug="amcl_augmentations",
    title="AMCL's gain with one augmentation vs several",
    paper='"Adaptive Multi-head Contrastive Learning", Wang, Lv, Zhou, Sun, Liu, Pan, Zhang and '
          'Kong, 2023 (ECCV 2024)',
    table="the augmentation study (abstract: the improvement becomes more significant when "
          "employing multiple augmentation methods)",
    claim="AMCL improves SimCLR, and more so when several augmentation methods are used.",
    setting=f"SimCLR (tau 0.1) and SimCLR + AMCL (3 heads, beta 0.01, tau in [0.05, 2]) with "
            f"the convnet on mnist5k, batch 256, {SMALL_STEPS} steps, AdamW lr 2e-3; views by "
            f"random resized crops (scale 0.4-1) alone, or crops plus colour jitter (strength "
            f"0.5) and Gaussian blur (p 0.5); read with the 10-shot linear probe (mean of 5 "
            f"seeded draws).",
    cells=_cells(),
    columns=(Column("10-shot probe", METRIC), Column("full probe", "learned.linear_probe"),
             Column("kNN", "learned.knn")),
    metric=METRIC,
    verdict=verdict,
    paper_numbers=PaperNumbers(
        source="the paper's abstract",
        setting="CIFAR, ImageNet-100 / ImageNet-1K with SimCLR, MoCo and Barlow Twins.",
        header=("finding (paper)", "as stated"),
        rows=(("AMCL on SimCLR, MoCo, Barlow Twins", "experimentally enhances several popular "
                                                     "contrastive learning methods"),
              ("with more augmentations", "becomes more significant when employing multiple "
                                          "augmentation methods"))),
)
