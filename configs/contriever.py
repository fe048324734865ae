"""Contriever: two independent random crops (10-50% of each text) with 10% word deletion, MoCo
with a queue of momentum-encoder keys (4,096 here for a 5k-sentence corpus; 131,072 in the
released code), momentum 0.9995, temperature 0.05, mean pooling, no head.

    python -m contrastive_jax.main --config=configs/contriever.py --workdir=runs/contriever
    python -m contrastive_jax.main --config=configs/contriever.py:scale=tiny --workdir=/tmp/t

Arguments and the shared setup (data, encoder, optimizer): ``configs/simcse.py``.

Paper: "Unsupervised Dense Information Retrieval with Contrastive Learning", Izacard et al., 2022.
"""

from configs.simcse import sentence_config


def get_config(arg: str | None = None):
    return sentence_config("contriever", arg)
