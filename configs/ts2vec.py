"""TS2Vec on a UCR / UEA archive set, evaluated as the paper does (RBF SVM on instance
representations), optionally with DBPM reweighting.

    python -m contrastive_jax.main --config=configs/ts2vec.py:dataset=ucr:GunPoint --workdir=runs/gp
    python -m contrastive_jax.main --config=configs/ts2vec.py:dataset=ucr:BasicMotions,dbpm=True --workdir=runs/bm
    python -m contrastive_jax.main --config=configs/ts2vec.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/ts2vec.py:dataset=ucr:ArrowHead,scale=tiny``):
  dataset: ucr:<Name> (default ucr:GunPoint; ucr:ItalyPowerDemand, 24 steps long, at
    scale=tiny). Bundled with aeon (offline): GunPoint, ArrowHead, ItalyPowerDemand, OSULeaf,
    ACSF1, BasicMotions, JapaneseVowels; others are downloaded.
  scale: paper (default: the paper's setting) | small (the same: these archives are small
    enough for the paper's setting on a CPU; the scale experiments.run passes) | tiny (smoke
    test: a 2-block, 16-wide encoder, 3 steps)
  dbpm: False (default) | True: DBPM's bad-pair reweighting of the per-series losses.

``--config.method.corrupt_fraction=0.2`` gives 20% of the training series (a fixed seeded
subset) a bad positive pair: their second view is another series' (a robustness study of DBPM;
experiments/ucr_ts2vec.py).

The paper's setting (Yue et al., "TS2Vec: Towards Universal Representation of Time Series",
AAAI 2022, Sec. 4 and App.; the released ``train.py`` / ``ts2vec.py`` defaults): batch size 8
(or the train split's size if smaller), AdamW at a constant learning rate of 0.001 (PyTorch's
default weight decay 0.01 on every parameter), representation dimension 320, hidden 64, depth
10, 200 iterations when the train split holds at most 100,000 values (``N x T x C``), else
600; random overlapping crops with binomial timestamp masking (p = 0.5); the hierarchical
loss with alpha = 0.5, temporal_unit = 0. Evaluation: an RBF SVM on the max-pooled instance
representations, C by 5-fold grid search (``summary.json``: ``svm_accuracy``), beside the
library's kNN and linear probe, for the learned encoder, its random initialisation and the raw
series (``raw_series``). As released, the evaluated encoder is the running average of the
weights over all iterates (``method.average_weights``, see ``methods/ts2vec.py``).
"""

import ml_collections

from configs import common

PAPER_BATCH_SIZE = 8
LEARNING_RATE = 1e-3


def paper_iterations(num_values: int) -> int:
    """TS2Vec's default ``n_iters``: 200 if the train split has <= 100,000 values, else 600."""
    return 200 if num_values <= 100_000 else 600


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="", scale="paper", dbpm=False)
    if not args.dataset:  # the loss's compile time grows with the series' length
        args.dataset = "ucr:ItalyPowerDemand" if args.scale == "tiny" else "ucr:GunPoint"
    config = common.base_config()
    config.dataset = ml_collections.ConfigDict(dict(name=args.dataset, data_dir="",
                                                    download=False))
    num_train, num_values = _train_size(args.dataset)
    config.batch_size = min(PAPER_BATCH_SIZE, num_train)
    config.total_steps = paper_iterations(num_values)
    config.augment = ml_collections.ConfigDict(dict(name="ts2vec", temporal_unit=0, mask_p=0.5))
    config.encoder = ml_collections.ConfigDict(dict(name="ts2vec", hidden_dim=64, depth=10,
                                                    output_dim=320, kernel_size=3, dropout=0.1))
    config.method = ml_collections.ConfigDict(dict(name="ts2vec", alpha=0.5, temporal_unit=0,
                                                   dbpm=bool(args.dbpm), corrupt_fraction=0.0))
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adamw", learning_rate=LEARNING_RATE, weight_decay=0.01, warmup_steps=0,
        final_lr_fraction=1.0, grad_clip_norm=0.0, decay_all=True))
    config.eval.update(dict(every_steps=100, batch_size=256, knn_k=5, svm=True,
                            probe_l2_grid=(1e-4, 1e-3, 1e-2, 1e-1, 1.0)))
    config.checkpoint.every_steps = 100
    config.log_every_steps = 10
    if args.scale == "tiny":
        config.encoder.update(dict(hidden_dim=16, depth=1, output_dim=32))
        config.total_steps = 3
        config.eval.every_steps = 3
        config.eval.probe_l2_grid = (1e-2,)
        config.checkpoint.every_steps = 3
        config.log_every_steps = 1
    elif args.scale not in ("paper", "small"):
        raise ValueError(f"configs/ts2vec.py: unknown scale {args.scale!r} (paper | small | "
                         f"tiny).")
    return config


def _train_size(dataset: str) -> tuple[int, int]:
    """``(examples, values N x T x C)`` of the train split, for the paper's batch size and
    iteration rule."""
    if not dataset.startswith("ucr:"):
        raise ValueError(f"configs/ts2vec.py trains on ucr:<Name> sets, got {dataset!r}.")
    from contrastive_jax.data.ucr import load_ucr_arrays

    (series, _, _), _, _ = load_ucr_arrays(dataset.partition(":")[2])
    return len(series), int(series.size)
