"""Hard negative mixing against a larger queue (MoCHi, Kalantidis et al., 2020): MoCo v2 with
queues of 256, 1,024 and 4,096 keys, and MoCHi with 1,024 keys plus synthesized hard
negatives; the gain from a larger queue should diminish, and mixing should buy more."""

from __future__ import annotations

from experiments.spec import TINY, Cell, Column, Experiment, PaperNumbers, paired, verdict_from

QUEUES = (256, 1024, 4096)
MOCHI_QUEUE = 1024
METRIC = "learned.linear_probe"
SMALL_STEPS = 600
IMAGENET_TRAIN_IMAGES = 1281167
PAPER_BATCH = 256

SMALL = {"batch_size": 256, "total_steps": SMALL_STEPS, "eval.every_steps": SMALL_STEPS,
         "eval.final_baselines": False, "eval.plot_embedding": False}
# MoCo v2's ImageNet recipe (ResNet-50, SGD lr 0.03 x B / 256 with momentum 0.9, 200 epochs,
# key-encoder momentum 0.999).
PAPER = {"dataset.name": "tfds:imagenet2012", "encoder": {"name": "resnet50"},
         "augment": {"name": "simclr", "out_size": (224, 224)}, "method.proj_hidden_dim": 2048,
         "method.proj_dim": 128, "method.base_momentum": 0.999, "optimizer.name": "sgd",
         "optimizer.learning_rate": 0.03 * PAPER_BATCH / 256, "optimizer.weight_decay": 1e-4,
         "optimizer.warmup_steps": 0, "batch_size": PAPER_BATCH,
         "total_steps": 200 * IMAGENET_TRAIN_IMAGES // PAPER_BATCH}
PAPER_QUEUE_SCALE = 16  # the paper's queues are 16k to 65k keys


def _moco(queue: int) -> Cell:
    size = {"method.queue_size": queue}
    return Cell(f"moco_q{queue}", "configs/moco_v2.py",
                label={"method": "MoCo v2", "queue": queue},
                overrides={"tiny": {**TINY, "method.queue_size": 16 * (queue // 256),
                                    "batch_size": 16, "eval.final_baselines": False},
                           "small": {**SMALL, **size},
                           "paper": {**PAPER, "method.queue_size": PAPER_QUEUE_SCALE * queue}})


MOCHI = Cell(f"mochi_q{MOCHI_QUEUE}", "configs/mochi.py",
             label={"method": "MoCHi (N=256, s=256, s'=64)", "queue": MOCHI_QUEUE},
             overrides={"tiny": {**TINY, "eval.final_baselines": False},
                        "small": {**SMALL, "method.queue_size": MOCHI_QUEUE},
                        "paper": {**PAPER, "method.queue_size": PAPER_QUEUE_SCALE * MOCHI_QUEUE,
                                  "method.num_hard": 1024, "method.num_mix_negatives": 1024,
                                  "method.num_mix_query": 256}})


def verdict(results):
    """Claimed differences (paired by seed): MoCHi minus MoCo at the same queue > 0; MoCHi
    minus MoCo with a 4x larger queue > 0; and the diminishing return of the queue, (1,024 minus
    256) minus (4,096 minus 1,024) > 0."""
    small, middle, large = (f"moco_q{q}" for q in QUEUES)
    mochi = MOCHI.name
    return verdict_from([
        paired(results, f"MoCHi - MoCo, queue {MOCHI_QUEUE}",
               [(1, mochi, METRIC), (-1, f"moco_q{MOCHI_QUEUE}", METRIC)]),
        paired(results, f"MoCHi (queue {MOCHI_QUEUE}) - MoCo (queue {QUEUES[-1]})",
               [(1, mochi, METRIC), (-1, large, METRIC)]),
        paired(results, f"MoCo gain {QUEUES[0]}->{QUEUES[1]} minus gain {QUEUES[1]}->{QUEUES[2]}",
               [(1, middle, METRIC), (-1, small, METRIC), (-1, large, METRIC),
                (1, middle, METRIC)])])


EXPERIMENT = Experiment(
    slug="mochi_queue",
    title="Hard negative mixing vs a larger queue",
    paper='"Hard Negative Mixing for Contrastive Learning", Kalantidis, Sariyildiz, Pion, '
          'Weinzaepfel and Larlus, 2020 (NeurIPS)',
    table="the queue-size and MoCHi comparisons (abstract; linear classification)",
    claim="Increasing the memory (queue) size leads to diminishing returns; mixing hard "
          "negatives on the fly improves MoCo's representations, more than a larger queue.",
    setting=f"MoCo v2 / MoCHi (momentum 0.99, temperature 0.2) with SimCLR views and the "
            f"convnet on mnist5k, batch 256, {SMALL_STEPS} steps, AdamW lr 2e-3; queues of "
            f"{', '.join(map(str, QUEUES))} keys; MoCHi mixes N=256 hardest negatives into "
            f"s=256 pairs plus s'=64 query mixes; held-out linear probe of the encoder.",
    cells=(*(_moco(q) for q in QUEUES), MOCHI),
    columns=(Column("linear probe", METRIC), Column("kNN", "learned.knn")),
    metric=METRIC,
    verdict=verdict,
    paper_numbers=PaperNumbers(
        source="the paper's abstract",
        setting="ImageNet-100 / ImageNet-1K, MoCo v2 framework, ResNet-50.",
        header=("finding (paper)", "as stated"),
        rows=(("increasing the memory size", "leads to diminishing returns in terms of "
                                             "performance"),
              ("hard negative mixing (MoCHi)", "improves the quality of visual representations "
                                               "learned by a state-of-the-art method"))),
)
