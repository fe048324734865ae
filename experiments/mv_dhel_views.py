"""MV-DHEL's view multiplicity against dimensionality collapse (Koromilas et al., 2025): the
effective rank of the embeddings and the probe as the number of views grows from 2 to 6."""

from __future__ import annotations

from experiments.spec import TINY, Cell, Column, Experiment, PaperNumbers, paired, verdict_from

VIEWS = (2, 3, 4, 5, 6)
RANK = "learned_projection.rankme"
PROBE = "learned.linear_probe"
SMALL_STEPS = 200
IMAGENET_TRAIN_IMAGES = 1281167
PAPER_BATCH = 256

MEASURE = {"eval.diagnostics": True, "eval.probe_projection": True}
SMALL = {**MEASURE, "batch_size": 128, "total_steps": SMALL_STEPS, "method.temperature": 0.1,
         "optimizer.warmup_steps": SMALL_STEPS // 10, "eval.every_steps": SMALL_STEPS,
         "eval.final_baselines": False, "eval.plot_embedding": False}
# ImageNet-1K with ResNet-50 and SimCLR views, 100 epochs (as in experiments/multiview.py).
PAPER = {**MEASURE, "dataset.name": "tfds:imagenet2012", "encoder": {"name": "resnet50"},
         "method.proj_hidden_dim": 2048, "method.proj_dim": 128, "method.temperature": 0.1,
         "optimizer.name": "lars", "optimizer.learning_rate": 0.3 * PAPER_BATCH / 256,
         "optimizer.weight_decay": 1e-6, "batch_size": PAPER_BATCH,
         "optimizer.warmup_steps": 10 * IMAGENET_TRAIN_IMAGES // PAPER_BATCH,
         "total_steps": 100 * IMAGENET_TRAIN_IMAGES // PAPER_BATCH}


def _cell(views: int) -> Cell:
    paper_views = {"augment": {"name": "simclr", "num_views": views, "out_size": (224, 224)}}
    return Cell(f"mv_dhel_v{views}", "configs/mv_dhel.py", label={"views": views},
                overrides={"tiny": {**TINY, **MEASURE, "augment.num_views": views,
                                    "eval.final_baselines": False},
                           "small": {**SMALL, "augment.num_views": views},
                           "paper": {**PAPER, **paper_views}})


def verdict(results):
    """Claimed differences (paired by seed): the projections' effective rank (RankMe) at 5 and
    at 6 views minus at 2 views > 0."""
    first = VIEWS[0]
    return verdict_from([
        paired(results, f"projection RankMe, {v} views - {first} views",
               [(1, f"mv_dhel_v{v}", RANK), (-1, f"mv_dhel_v{first}", RANK)], percent=False)
        for v in (5, 6)])


EXPERIMENT = Experiment(
    slug="mv_dhel_views",
    title="MV-DHEL with 2 to 6 views: dimensionality collapse",
    paper='"A Principled Framework for Multi-View Contrastive Learning", Koromilas, Georgiou, '
          'Bouritsas, Giannakopoulos, Nicolaou and Panagakis, 2025 (arXiv 2507.06979)',
    table="the view-multiplicity ablation (abstract: five or more views mitigate "
          "dimensionality collapse)",
    claim="MV-DHEL with five or more views effectively mitigates dimensionality collapse by "
          "fully utilizing the embedding space.",
    setting=f"MV-DHEL with SimCLR views and the convnet on mnist5k, batch 128, {SMALL_STEPS} "
            f"steps, temperature 0.1, V = {', '.join(map(str, VIEWS))} views. Effective rank: "
            f"RankMe (exp of the entropy of the normalized singular values) of the held-out "
            f"128-d projector outputs, where the loss acts; also of the encoder features, and "
            f"the held-out linear probe.",
    cells=tuple(_cell(v) for v in VIEWS),
    columns=(Column("projection RankMe", RANK, percent=False),
             Column("encoder RankMe", "learned.rankme", percent=False),
             Column("linear probe", PROBE), Column("kNN", "learned.knn")),
    metric=RANK,
    verdict=verdict,
    paper_numbers=PaperNumbers(
        source="the paper's abstract (no numbers in it)",
        setting="ImageNet-1K and three other data sets.",
        header=("finding (paper)", "as stated"),
        rows=(("MV-DHEL with five or more views", "effectively mitigates dimensionality "
                                                  "collapse by fully utilizing the embedding "
                                                  "space"),
              ("more views", "the methods effectively scale with view multiplicity"))),
)
