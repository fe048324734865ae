"""The config ``benchmarks/loss_memory.py`` runs: SimCLR's tiny recipe at a global batch of
16,384 on ``digits_x12``, scikit-learn's 8x8 digits with each training image repeated 12 times.

The memory benchmark needs a training split of at least one batch (``make_train_loader``
checks it); ``digits`` has 1,437 training images, so ``digits_x12`` lists each of them 12
times (17,244 examples; the augmentation makes every view different). Its test split is the
360 held-out digits. Use it for memory and speed, not for accuracy:

    python -m contrastive_jax.main --config=benchmarks/loss_memory_config.py --workdir=/tmp/m \
        --config.method.loss_block_size=1024
"""

import dataclasses

import numpy as np

from configs import simclr
from contrastive_jax.data import ArraySource, build_source
from contrastive_jax.registry import DATASETS

REPEATS = 12


def digits_x12(split, *, data_dir=None, seed=0):
    """The ``digits`` source with every training image listed ``REPEATS`` times."""
    source = build_source("digits", split, data_dir=data_dir, seed=seed)
    records = [source[i] for i in range(len(source))]
    images = np.stack([r["image"] for r in records])
    labels = np.asarray([r["label"] for r in records], np.int32)
    if split == "train":
        images, labels = np.tile(images, (REPEATS, 1, 1, 1)), np.tile(labels, REPEATS)
    return ArraySource(images, labels, dataclasses.replace(source.info, name="digits_x12"))


DATASETS.register("digits_x12", digits_x12)


def get_config(arg=None):
    """SimCLR, tiny convnet, 32-d projection, batch 16,384, 2 steps, no probes or plots (no
    arguments; override keys with ``--config.<key>=<value>``)."""
    del arg
    config = simclr.get_config("scale=tiny")
    config.dataset.name = "digits_x12"
    config.batch_size = 16384
    config.total_steps = 2
    config.method.proj_dim = 32
    config.eval.every_steps = 1000
    config.eval.final_linear_probe = False
    config.eval.final_baselines = False
    config.eval.plot_embedding = False
    config.checkpoint.every_steps = 1000
    config.progress_bar = False
    return config
