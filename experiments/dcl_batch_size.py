"""DCL vs NT-Xent across batch sizes (Yeh et al., 2022): decoupling the positive from the
denominator should help most when the batch, hence the number of negatives, is small."""

from __future__ import annotations

from experiments.spec import TINY, Cell, Column, Experiment, PaperNumbers, paired, verdict_from

BATCH_SIZES = (32, 64, 128, 256)
LOSSES = {"ntxent": ("configs/simclr.py", "NT-Xent (SimCLR)"), "dcl": ("configs/dcl.py", "DCL")}
METRIC = "learned.linear_probe"
EPOCHS_SMALL = 8  # passes over mnist5k's 4,000 training images, at every batch size
TRAIN_IMAGES_SMALL = 4000
IMAGENET_TRAIN_IMAGES = 1281167


def _small(batch_size: int) -> dict:
    """Same epochs, temperature and schedule shape for both losses; only the batch varies."""
    steps = EPOCHS_SMALL * TRAIN_IMAGES_SMALL // batch_size
    return {"batch_size": batch_size, "total_steps": steps, "method.temperature": 0.1,
            "optimizer.learning_rate": 2e-3, "optimizer.warmup_steps": steps // 10,
            "eval.every_steps": steps}


def _paper(batch_size: int) -> dict:
    """ImageNet-1K, ResNet-50, 200 epochs, the SimCLR recipe (LARS, lr 0.3 x B / 256)."""
    return {"dataset.name": "tfds:imagenet2012", "encoder": {"name": "resnet50"},
            "augment": {"name": "simclr", "out_size": (224, 224)},
            "method.proj_hidden_dim": 2048, "method.proj_dim": 128, "method.temperature": 0.1,
            "optimizer.name": "lars", "optimizer.learning_rate": 0.3 * batch_size / 256,
            "optimizer.weight_decay": 1e-6,
            "optimizer.warmup_steps": 10 * IMAGENET_TRAIN_IMAGES // batch_size,
            "batch_size": batch_size, "total_steps": 200 * IMAGENET_TRAIN_IMAGES // batch_size}


def _cells() -> tuple[Cell, ...]:
    cells = []
    for loss, (config, label) in LOSSES.items():
        for batch_size in BATCH_SIZES:
            cells.append(Cell(
                f"{loss}_b{batch_size}", config,
                overrides={"tiny": {**TINY, "batch_size": 16,
                                    "method.temperature": 0.1, "eval.final_baselines": False},
                           "small": _small(batch_size), "paper": _paper(batch_size)},
                label={"loss": label, "batch size": batch_size}))
    return tuple(cells)


def verdict(results):
    """Claimed differences (paired by seed): DCL minus NT-Xent > 0 at every batch size, and
    that gap larger at the smallest batch than at the largest."""
    smallest, largest = BATCH_SIZES[0], BATCH_SIZES[-1]
    differences = [paired(results, f"DCL - NT-Xent probe, B={b}",
                          [(1, f"dcl_b{b}", METRIC), (-1, f"ntxent_b{b}", METRIC)])
                   for b in BATCH_SIZES]
    differences.append(paired(
        results, f"(DCL - NT-Xent) at B={smallest} minus at B={largest}",
        [(1, f"dcl_b{smallest}", METRIC), (-1, f"ntxent_b{smallest}", METRIC),
         (-1, f"dcl_b{largest}", METRIC), (1, f"ntxent_b{largest}", METRIC)]))
    return verdict_from(differences)


EXPERIMENT = Experiment(
    slug="dcl_batch_size",
    title="DCL vs NT-Xent across batch sizes",
    paper='"Decoupled Contrastive Learning", Yeh, Hong, Hsu, Liu, Chen and LeCun, 2022 (ECCV)',
    table="the batch-size comparison of SimCLR with and without DCL (abstract; ImageNet-1K "
          "linear evaluation)",
    claim="Removing the positive pair from the InfoNCE denominator (DCL) beats NT-Xent, with "
          "the largest gain at small batch sizes (the negative-positive coupling is strongest "
          "there).",
    setting=f"SimCLR views and convnet on mnist5k, both losses at temperature 0.1, AdamW lr "
            f"2e-3, {EPOCHS_SMALL} epochs at every batch size (steps = {EPOCHS_SMALL} x 4,000 / "
            f"B), held-out linear probe and kNN (k=20) of the encoder features.",
    cells=_cells(),
    columns=(Column("linear probe", "learned.linear_probe"), Column("kNN", "learned.knn")),
    metric=METRIC,
    verdict=verdict,
    paper_numbers=PaperNumbers(
        source="the paper's abstract",
        setting="ImageNet-1K, SimCLR framework (ResNet-50), 200 epochs of pre-training, batch "
                "size 256, linear evaluation top-1.",
        header=("method (paper)", "ImageNet-1K top-1"),
        rows=(("SimCLR with DCL", "68.2%"),
              ("SimCLR baseline (NT-Xent)", "61.8% (the abstract: DCL is +6.4 points)"))),
)
