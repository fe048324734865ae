"""ESimCSE: SimCSE with word repetition as the second view and a momentum-encoder queue of
negatives (dup_rate 0.32, queue 2.5 x batch = 160, momentum 0.995: the paper's BERT-base values).

    python -m contrastive_jax.main --config=configs/esimcse.py --workdir=runs/esimcse
    python -m contrastive_jax.main --config=configs/esimcse.py:scale=tiny --workdir=/tmp/t

Arguments and the shared setup (data, encoder, optimizer): ``configs/simcse.py``.

Paper: "ESimCSE: Enhanced Sample Building Method for Contrastive Learning of Unsupervised Sentence
Embedding", Wu et al., 2022.
"""

from configs.simcse import sentence_config


def get_config(arg: str | None = None):
    return sentence_config("esimcse", arg)
