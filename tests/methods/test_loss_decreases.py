"""Each method's loss goes down on one fixed batch.

The objective is made stationary where the data allows: the same 16 digits every step and the
same augmented views (drawn once with a fixed key, then served as constants), a small MLP
encoder and a constant learning rate. Targets, queues and statistics in the method state still
evolve, as they do in training. Runs the library's ``train_step`` (same update and finiteness
guard as training), compiled with LLVM optimizations off for speed.
"""

import functools
import glob
import importlib
import os

import jax
import numpy as np
import optax
import pytest

from contrastive_jax.registry import AUGMENTATIONS, DATASETS
from contrastive_jax.train.build import build_method
from contrastive_jax.train.state import init_train_state
from contrastive_jax.train.step import train_step

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
# This test feeds fixed 8x8 digit views (and class captions); configs of other data have their
# own: NegCLIP needs the composites' negative captions (trained by test_every_config),
# TS2Vec time series (tests/methods/test_ts2vec_method.py), GRACE graphs
# (tests/methods/test_grace_method.py), the dual encoder query/document tokens
# (tests/methods/test_dual_encoder.py, tests/test_main_dual_encoder.py).
OTHER_DATA = {"negclip", "ts2vec", "grace", "dual_encoder"}
# Sentence embeddings train on token ids (tests/methods/test_sentence.py).
OTHER_DATA |= {"simcse", "esimcse", "debcse", "whitenedcse", "contriever"}
# Regression methods learn a real-valued target: their fixed batch is rotated digits.
REGRESSION = {"supremix", "l1_regression", "supcon_bins"}
# Pretraining then fine-tuning the dual encoder (tests/methods/test_dual_encoder.py,
# tests/test_main_dual_encoder.py).
OTHER_DATA |= {"simcse_codesearch", "esimcse_codesearch", "contriever_codesearch"}
CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(CONFIG_DIR, "*.py"))
                 if os.path.basename(p) not in ("__init__.py", "common.py")
                 and os.path.basename(p)[:-3] not in OTHER_DATA)
NUM_STEPS = 30
BATCH_SIZE = 16
FAST_COMPILE = {"xla_backend_optimization_level": 0}


@functools.lru_cache(maxsize=None)
def fixed_batch(dataset: str) -> dict:
    source = DATASETS.build(dataset, "train")
    records = [{**source[i], "index": np.int32(i)} for i in range(BATCH_SIZE)]
    return {key: np.stack([r[key] for r in records]) for key in records[0]}


@functools.lru_cache(maxsize=None)
def fixed_views(dataset: str, num_views: int) -> tuple:
    """Mild crops of the fixed batch, drawn once: [B, 8, 8, 1] floats in [0, 1] per view."""
    sampler = AUGMENTATIONS.build("weak", num_views=num_views, crop_scale=(0.5, 1.0), flip=False)
    views = sampler(jax.random.key(0), fixed_batch(dataset)["image"])
    return tuple(np.asarray(v) for v in views)


def stationary_config(name: str):
    module = importlib.import_module(f"configs.{name}")
    captions = module.get_config("").dataset.name.startswith("captions:")
    dataset = ("rotated:digits" if name in REGRESSION
               else "captions:digits" if captions else "digits")
    config = module.get_config(f"dataset={dataset},scale=tiny")
    num_views = config.augment.get("num_views", 2) if config.augment.name != "multicrop" else 2
    config.augment = dict(name="none", num_views=max(num_views, 2))
    config.encoder = dict(name="mlp", widths=(64,))
    config.batch_size = BATCH_SIZE
    config.total_steps = NUM_STEPS
    return config


def run_losses(name: str) -> np.ndarray:
    config = stationary_config(name)
    views = fixed_views(config.dataset.name, config.augment.num_views)
    method = build_method(config, image_shape=(8, 8, 1),
                          make_views=lambda rng, images: views, num_classes=10,
                          num_examples=BATCH_SIZE)
    optimizer = optax.adam(config.optimizer.learning_rate)
    batch = fixed_batch(config.dataset.name)
    graphdef_box = {}

    def init(rng):
        graphdef_box["graphdef"], state = init_train_state(method, optimizer, rng, batch)
        return state

    key = jax.random.key(config.seed)
    state = jax.jit(init).lower(key).compile(FAST_COMPILE)(key)
    step = jax.jit(functools.partial(
        train_step, graphdef=graphdef_box["graphdef"], method=method, optimizer=optimizer,
        schedule=lambda count: config.optimizer.learning_rate, seed=config.seed))
    step = step.lower(state, batch).compile(FAST_COMPILE)
    losses = []
    for _ in range(NUM_STEPS):
        state, metrics = step(state, batch)
        assert int(metrics["finite"]) == 1, (name, len(losses), jax.device_get(metrics))
        losses.append(float(metrics["loss"]))
    return np.asarray(losses)


@pytest.mark.parametrize("name", CONFIGS)
def test_loss_decreases_on_a_fixed_batch(name):
    config = stationary_config(name)
    losses = run_losses(name)
    # With one fixed batch, a queue of negatives (MoCo, MoCHi) or neighbours (NNCLR, SwAV) fills
    # with this batch's own embeddings over its first queue_size / B steps, which first makes the
    # task harder; compare from the step the queue holds no initial entries.
    first = config.method.get("queue_size", 0) // BATCH_SIZE
    start, end = losses[first], losses[-5:].mean()
    # A real decrease, not noise: at least 5% of the starting loss's scale.
    assert end < start - 0.05 * max(abs(start), 1.0), (name, first, losses)
