"""From a config to the parts of an experiment, with every name and key checked up front.

Everything here fails before anything is compiled, naming what is wrong and what is valid.
"""

from __future__ import annotations

import dataclasses
import math

import ml_collections

from contrastive_jax.registry import AUGMENTATIONS, DATASETS, ENCODERS, METHODS

REQUIRED_KEYS = ("seed", "dataset", "augment", "encoder", "method", "optimizer", "batch_size",
                 "total_steps", "mesh", "eval", "checkpoint", "log_every_steps")
RUN_CONTROL_KEYS = ("nonfinite", "resume", "progress_bar", "distributed", "grad_cache")
NONFINITE_POLICIES = ("stop", "skip")


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Raise ``ValueError`` for a missing/unknown top-level key, an unknown component name or an
    impossible number, before any data is loaded or anything compiled."""
    keys = set(config.keys())
    missing = [k for k in REQUIRED_KEYS if k not in keys]
    unknown = sorted(keys - set(REQUIRED_KEYS) - set(RUN_CONTROL_KEYS))
    if missing:
        raise ValueError(f"config is missing top-level key(s) {missing}.")
    if unknown:
        raise ValueError(f"config has unknown top-level key(s) {unknown}; valid keys: "
                         f"{', '.join(REQUIRED_KEYS + RUN_CONTROL_KEYS)}.")
    for registry, part in ((DATASETS, config.dataset), (AUGMENTATIONS, config.augment),
                           (ENCODERS, config.encoder), (METHODS, config.method)):
        if "name" not in part:
            raise ValueError(f"config.{registry.kind} needs a 'name'; valid: {registry.names()}.")
        try:
            registry.check(part.name)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
    for key in ("batch_size", "total_steps", "log_every_steps"):
        if not isinstance(config[key], int) or config[key] < 1:
            raise ValueError(f"config.{key} must be a positive integer, got {config[key]!r}.")
    lr = config.optimizer.learning_rate
    if not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"config.optimizer.learning_rate must be finite and > 0, got {lr!r}.")
    if config.get("nonfinite", "stop") not in NONFINITE_POLICIES:
        raise ValueError(f"config.nonfinite must be one of {NONFINITE_POLICIES}, "
                         f"got {config.nonfinite!r}.")
    if config.get("resume", "auto") not in ("auto", "force"):
        raise ValueError(f"config.resume must be 'auto' or 'force', got {config.resume!r}.")


@dataclasses.dataclass
class Parts:
    """What a run is made of, built from a validated config."""

    train_source: object
    test_source: object
    make_views: object
    method: object


def build_parts(config: ml_collections.ConfigDict) -> Parts:
    """Load the data sources and build the view function and the method."""
    from contrastive_jax.data import build_source
    from contrastive_jax.methods.base import config_kwargs

    data_dir = config.dataset.get("data_dir") or None
    train_source = build_source(config.dataset.name, "train", data_dir=data_dir, seed=config.seed)
    test_source = build_source(config.dataset.name, "test", data_dir=data_dir, seed=config.seed)
    augment_kwargs = config_kwargs(config.augment)
    try:
        make_views = AUGMENTATIONS.build(config.augment.name, **augment_kwargs)
    except TypeError as error:
        raise ValueError(f"augment {config.augment.name!r} rejected its options "
                         f"{sorted(augment_kwargs)}: {error}") from error
    method = METHODS.build(config.method.name, config, image_shape=train_source.info.image_shape,
                           make_views=make_views, num_classes=train_source.info.num_classes)
    return Parts(train_source, test_source, make_views, method)
