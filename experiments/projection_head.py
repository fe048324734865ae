"""Pre- vs post-projection representations of the same SimCLR runs: a linear probe on the
encoder's features (kept after training) and on the projector's output (where the loss acts)."""

from __future__ import annotations

from experiments.spec import (
    TINY, Cell, Column, Experiment, PaperNumbers, finite_values, paired, points, verdict_from)

PRE = "learned.linear_probe"
POST = "learned_projection.linear_probe"
SMALL_STEPS = 200
HEADS = {"simclr_linear_head": (1, "linear (1 layer)"),
         "simclr_mlp_head": (2, "MLP, 2 layers (SimCLR)"),
         "simclr_3layer_head": (3, "MLP, 3 layers (SimCLR v2)")}
CIFAR10_TRAIN_IMAGES = 50000
PAPER_BATCH = 512

PROBE = {"eval.probe_projection": True}
SMALL = {**PROBE, "total_steps": SMALL_STEPS, "optimizer.warmup_steps": SMALL_STEPS // 10,
         "eval.every_steps": SMALL_STEPS}
# A CIFAR-10 SimCLR setting of ours (the paper trains on CIFAR-10/100; its exact recipe is not
# restated here): ResNet-18 with the CIFAR stem, SimCLR's CIFAR views (no blur), 500 epochs.
PAPER = {**PROBE, "dataset.name": "tfds:cifar10", "encoder": {"name": "resnet18", "stem": "cifar"},
         "augment": {"name": "simclr", "blur_p": 0.0}, "method.temperature": 0.5,
         "optimizer.name": "lars", "optimizer.learning_rate": 0.3 * PAPER_BATCH / 256,
         "optimizer.weight_decay": 1e-6, "batch_size": PAPER_BATCH,
         "optimizer.warmup_steps": 10 * CIFAR10_TRAIN_IMAGES // PAPER_BATCH,
         "total_steps": 500 * CIFAR10_TRAIN_IMAGES // PAPER_BATCH}


def _cell(name: str, layers: int, label: str) -> Cell:
    head = {"method.proj_layers": layers}
    return Cell(name, "configs/simclr.py", label={"projection head": label},
                overrides={"tiny": {**TINY, **PROBE, **head, "eval.final_baselines": False},
                           "small": {**SMALL, **head}, "paper": {**PAPER, **head}})


def _gap(values) -> str:
    """Pre minus post probe accuracy of one cell, in points (mean over seeds)."""
    pre, post = finite_values({"c": values}, "c", PRE), finite_values({"c": values}, "c", POST)
    if not pre or not post:
        return "–"
    return points(sum(pre) / len(pre) - sum(post) / len(post))


def verdict(results):
    """Claimed differences: pre- minus post-projection probe > 0 for every head (both probes
    of the same run, so paired within each seed)."""
    return verdict_from([paired(results, f"pre - post probe, {label}",
                                [(1, name, PRE), (-1, name, POST)])
                         for name, (_, label) in HEADS.items()])


EXPERIMENT = Experiment(
    slug="projection_head",
    title="Pre-projection vs post-projection features",
    paper='"Investigating the Benefits of Projection Head for Representation Learning", Xue, '
          'Gan, Ni, Joshi and Mirzasoleiman, 2024 (ICLR); the observation it explains is from '
          '"A Simple Framework for Contrastive Learning of Visual Representations", Chen, '
          'Kornblith, Norouzi and Hinton, 2020 (ICML), Section 4.2',
    table="SimCLR, Figure 8 (linear evaluation of h before vs z = g(h) after the head); Xue et "
          "al. give the theory and CIFAR-10/100 experiments",
    claim="The representation before the projection head (the encoder output, kept after "
          "training) is better for a linear probe than the projector output the loss is "
          "applied to.",
    setting=f"SimCLR (NT-Xent, temperature 0.2) with the convnet on mnist5k, batch 256, "
            f"{SMALL_STEPS} steps; each run is probed twice, on the encoder's 3,136-d features "
            f"and on the projector's 128-d output (held-out linear probe and kNN).",
    cells=tuple(_cell(name, layers, label) for name, (layers, label) in HEADS.items()),
    columns=(Column("probe, pre-projection", PRE), Column("probe, post-projection", POST),
             Column("pre minus post (points)", compute=_gap),
             Column("kNN, pre", "learned.knn"), Column("kNN, post", "learned_projection.knn")),
    metric=PRE,
    verdict=verdict,
    paper_numbers=PaperNumbers(
        source="SimCLR (Chen et al., 2020), Section 4.2 / Figure 8; Xue et al. (2024) report "
               "no single headline number in their abstract",
        setting="ImageNet, ResNet-50, linear evaluation of the representation before (h) and "
                "after (z = g(h)) a non-linear projection head.",
        header=("comparison (paper)", "linear evaluation"),
        rows=(("h (before the head) vs z = g(h) (after)", "h better by more than 10 points"),)),
)
