"""Unsupervised SimCSE pretraining, then supervised fine-tuning, for dense code search: the
dual encoder of ``configs/dual_encoder.py`` whose first ``pretrain_steps`` steps train the
shared text encoder with unsupervised SimCSE (two dropout passes, in-batch InfoNCE at
temperature 0.05, the training-only dense + tanh head) on the batch's queries and documents
as independent texts (pairs ignored), then in-batch InfoNCE over the query/document pairs.
Also the shared setup of ``esimcse_codesearch`` and ``contriever_codesearch``, which call
``pretrained_config`` with their method's name.

    python -m contrastive_jax.main --config=configs/simcse_codesearch.py --workdir=runs/simcse_cs
    python -m contrastive_jax.main --config=configs/simcse_codesearch.py:pretrain_steps=400 --workdir=runs/x
    python -m contrastive_jax.main --config=configs/simcse_codesearch.py:scale=tiny --workdir=/tmp/t

Arguments: dataset, scale, loss, hard_negatives, star as ``configs/dual_encoder.py``;
pretrain_steps (small: 100, tiny: 2). Split of the budget at scale=small: 100 unsupervised
steps, then the dual encoder's 400 supervised steps (500 steps in all, one AdamW schedule:
50 warmup steps, cosine decay over the 500). An unsupervised step costs about 3 supervised
ones here (2B texts of 96 tokens, two views), so 100 keeps the run within this CPU budget.
At scale=tiny: 2 + 4 steps. Evaluation as ``configs/dual_encoder.py`` (held-out Recall@k / MRR@10 / nDCG@10, random init, BM25).

Paper: "SimCSE: Simple Contrastive Learning of Sentence Embeddings", Gao et al., 2021.
"""

from configs import common
from configs.dual_encoder import get_config as dual_encoder_config

# config.method additions per pretraining method (queues sized for the 2B = 128 texts).
PRETRAIN_OPTIONS = {
    "simcse": dict(pretrain_temperature=0.05, pretrain_queue_size=0, pretrain_momentum=-1.0),
    "esimcse": dict(pretrain_temperature=0.05, pretrain_queue_size=320,
                    pretrain_momentum=0.995),
    "contriever": dict(pretrain_temperature=0.05, pretrain_queue_size=4096,
                       pretrain_momentum=0.9995),
}
TINY_QUEUE = {"esimcse": 40, "contriever": 48}


def pretrained_config(method: str, arg: str | None = None):
    args = common.parse_arg(arg, dataset="codesearch:stdlib", scale="small", loss="infonce",
                            hard_negatives=0, star=False, pretrain_steps=-1)
    config = dual_encoder_config(
        f"dataset={args.dataset},scale={args.scale},loss={args.loss},"
        f"hard_negatives={args.hard_negatives},star={args.star}")
    steps = args.pretrain_steps
    if steps < 0:
        steps = 2 if args.scale == "tiny" else 100
    config.method.update(dict(pretrain=method, pretrain_steps=steps, **PRETRAIN_OPTIONS[method]))
    if args.scale == "tiny" and method in TINY_QUEUE:
        config.method.pretrain_queue_size = TINY_QUEUE[method]
    config.total_steps = config.total_steps + steps
    return config


def get_config(arg: str | None = None):
    return pretrained_config("simcse", arg)
