"""Unsupervised Contriever pretraining (two independent random crops of 10-50% of each text,
10% word deletion, MoCo with a queue of 4,096 momentum-encoder keys, momentum 0.9995,
temperature 0.05, no head), then supervised fine-tuning of the code-search dual encoder.

    python -m contrastive_jax.main --config=configs/contriever_codesearch.py --workdir=runs/contriever_cs
    python -m contrastive_jax.main --config=configs/contriever_codesearch.py:scale=tiny --workdir=/tmp/t

Arguments, the budget split (small: 100 unsupervised + 400 supervised steps) and the shared
setup: ``configs/simcse_codesearch.py``.

Paper: "Unsupervised Dense Information Retrieval with Contrastive Learning", Izacard et al., 2022.
"""

from configs.simcse_codesearch import pretrained_config


def get_config(arg: str | None = None):
    return pretrained_config("contriever", arg)
