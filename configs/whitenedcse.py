"""WhitenedCSE: three dropout views, each shuffled-group-whitened (32 groups of 4 channels of
the 128-wide encoder; the released code: 128 groups of 6 of BERT's 768), then the dense +
tanh head and InfoNCE of view 0 against views 1 and 2.

    python -m contrastive_jax.main --config=configs/whitenedcse.py --workdir=runs/whitenedcse
    python -m contrastive_jax.main --config=configs/whitenedcse.py:scale=tiny --workdir=/tmp/t

Arguments and the shared setup (data, encoder, optimizer): ``configs/simcse.py``.

Paper: "WhitenedCSE: Whitening-based Contrastive Learning of Sentence Embeddings", Zhuo et al., 2023.
"""

from configs.simcse import sentence_config


def get_config(arg: str | None = None):
    return sentence_config("whitenedcse", arg)
