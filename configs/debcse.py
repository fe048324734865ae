"""DebCSE (in-batch reading): SimCSE's two dropout views with negatives weighted by inverse
propensity over their token-overlap level, likely false negatives (cosine >= 0.9) left out
(``losses.debcse``; num_bins and the threshold are this library's choices).

    python -m contrastive_jax.main --config=configs/debcse.py --workdir=runs/debcse
    python -m contrastive_jax.main --config=configs/debcse.py:scale=tiny --workdir=/tmp/t

Arguments and the shared setup (data, encoder, optimizer): ``configs/simcse.py``.

Paper: "DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the Debiasing
Perspective", Miao et al., 2023.
"""

from configs.simcse import sentence_config


def get_config(arg: str | None = None):
    return sentence_config("debcse", arg)
