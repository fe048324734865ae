"""GroCo's k-NN claim (Shvetsova et al., 2023): the group-ordering loss against SimCLR and BYOL
with the same encoder, views and schedule, read with the held-out kNN classifier."""

from __future__ import annotations

from experiments.spec import (
    TINY, Cell, Column, Experiment, PaperNumbers, paired, small_run, verdict_from)

METHODS = {"groco": ("configs/groco.py", "GroCo (odd-even network, 10 negatives)"),
           "simclr": ("configs/simclr.py", "SimCLR"),
           "byol": ("configs/byol.py", "BYOL")}
METRIC = "learned.knn"
SMALL_STEPS = 300
IMAGENET_TRAIN_IMAGES = 1281167
PAPER_BATCH = 256

SMALL = small_run(SMALL_STEPS, batch_size=256)
TINY_RUN = {**TINY, "eval.final_baselines": False, "batch_size": 16}
# ImageNet-1K, ResNet-50, 100 epochs, LARS (the comparison family of the paper's tables).
PAPER = {"dataset.name": "tfds:imagenet2012", "encoder": {"name": "resnet50"},
         "augment": {"name": "simclr", "out_size": (224, 224)}, "method.proj_hidden_dim": 2048,
         "method.proj_dim": 128,
         "optimizer.name": "lars", "optimizer.learning_rate": 0.3 * PAPER_BATCH / 256,
         "optimizer.weight_decay": 1e-6,
         "optimizer.warmup_steps": 10 * IMAGENET_TRAIN_IMAGES // PAPER_BATCH,
         "batch_size": PAPER_BATCH, "total_steps": 100 * IMAGENET_TRAIN_IMAGES // PAPER_BATCH}


def _cells() -> tuple[Cell, ...]:
    return tuple(Cell(method, config, label={"method": label},
                      overrides={"tiny": dict(TINY_RUN), "small": dict(SMALL),
                                 "paper": dict(PAPER)})
                 for method, (config, label) in METHODS.items())


def verdict(results):
    """Claimed differences (paired by seed): GroCo's kNN accuracy minus SimCLR's > 0, and minus
    BYOL's > 0."""
    return verdict_from([paired(results, f"GroCo - {METHODS[other][1]}, kNN",
                                [(1, "groco", METRIC), (-1, other, METRIC)])
                         for other in ("simclr", "byol")])


EXPERIMENT = Experiment(
    slug="groco_knn",
    title="GroCo's k-NN accuracy vs SimCLR and BYOL",
    paper='"Learning by Sorting: Self-supervised Learning with Group Ordering Constraints", '
          'Shvetsova, Petersen, Kukleva, Schiele and Kuehne, 2023 (ICCV)',
    table="the k-NN comparison (abstract: outperforms current methods in k-NN performance)",
    claim="GroCo's representations give a better k-NN classifier than current methods'.",
    setting=f"GroCo, SimCLR and BYOL, each with its config's small-scale views (crops 0.4-1 "
            f"with jitter for GroCo and SimCLR, BYOL's asymmetric recipe for BYOL) and the "
            f"convnet on mnist5k, batch 256, {SMALL_STEPS} steps for all three; read with the "
            f"held-out kNN (k=20, cosine) and the linear probe.",
    cells=_cells(),
    columns=(Column("kNN", METRIC), Column("linear probe", "learned.linear_probe")),
    metric=METRIC,
    verdict=verdict,
    paper_numbers=PaperNumbers(
        source="the paper's abstract",
        setting="ImageNet-1K and other self-supervised benchmarks, ResNet-50.",
        header=("finding (paper)", "as stated"),
        rows=(("GroCo vs vanilla contrastive learning", "improved results"),
              ("GroCo, k-NN", "outperforms current methods in k-NN performance"))),
)
