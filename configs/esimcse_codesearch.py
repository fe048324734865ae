"""Unsupervised ESimCSE pretraining (word repetition, dup_rate 0.32, as the second view;
negatives also from a queue of 320 momentum-encoder keys = 2.5 x the 128 texts of a batch,
momentum 0.995), then supervised fine-tuning of the code-search dual encoder.

    python -m contrastive_jax.main --config=configs/esimcse_codesearch.py --workdir=runs/esimcse_cs
    python -m contrastive_jax.main --config=configs/esimcse_codesearch.py:scale=tiny --workdir=/tmp/t

Arguments, the budget split (small: 100 unsupervised + 400 supervised steps) and the shared
setup: ``configs/simcse_codesearch.py``.

Paper: "ESimCSE: Enhanced Sample Building Method for Contrastive Learning of Unsupervised Sentence
Embedding", Wu et al., 2022.
"""

from configs.simcse_codesearch import pretrained_config


def get_config(arg: str | None = None):
    return pretrained_config("esimcse", arg)
