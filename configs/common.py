"""Shared pieces of every config: the argument grammar and the default top-level keys.

``get_config(arg)`` takes a comma list ``key=value`` (e.g. ``dataset=mnist5k,scale=small``),
as big_vision's ``parse_arg`` does. Values are parsed as Python literals when they look like
one (numbers, booleans), else kept as strings; nothing is evaluated.
"""

from __future__ import annotations

import ast

import ml_collections

TOP_LEVEL_KEYS = ("seed", "dataset", "augment", "encoder", "method", "optimizer", "batch_size",
                  "total_steps", "mesh", "eval", "checkpoint", "log_every_steps")


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
    """Parse ``"a=1,b=x"`` over ``defaults``; an unknown key is an error naming the valid ones."""
    parsed = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"config argument {item!r} is not key=value (in {arg!r}).")
        if key not in defaults:
            raise ValueError(
                f"unknown config argument {key!r}; valid arguments: {', '.join(sorted(defaults))}.")
        try:
            parsed[key] = type(defaults[key])(ast.literal_eval(value)) if not isinstance(
                defaults[key], str) else value
        except (ValueError, SyntaxError) as error:
            raise ValueError(f"config argument {key}={value!r}: {error}") from error
    return parsed


def base_config() -> ml_collections.ConfigDict:
    """The top-level keys every experiment has, with CPU-friendly defaults."""
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.dataset = ml_collections.ConfigDict(dict(name="mnist5k", data_dir=""))
    config.augment = ml_collections.ConfigDict(dict(name="none"))
    config.encoder = ml_collections.ConfigDict(dict(name="convnet"))
    config.method = ml_collections.ConfigDict(dict(name="simclr"))
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adamw", learning_rate=1e-3, weight_decay=1e-4, warmup_steps=50,
        final_lr_fraction=0.0, grad_clip_norm=0.0))
    config.batch_size = 256
    config.total_steps = 600
    config.mesh = ml_collections.ConfigDict(dict(data=-1, fsdp=1, fsdp_min_size=2**14))
    config.eval = ml_collections.ConfigDict(dict(
        every_steps=200, batch_size=500, knn_k=20, knn_temperature=0.07,
        final_linear_probe=True, probe_l2_grid=(1e-3, 1e-2, 1e-1), probe_max_iter=200,
        final_baselines=True, plot_embedding=True))
    config.checkpoint = ml_collections.ConfigDict(dict(every_steps=100, max_to_keep=3))
    config.log_every_steps = 10
    # Run control, not part of the experiment's identity (see train.workdir.IDENTITY_EXEMPT).
    config.nonfinite = "stop"  # "stop": halt naming the step; "skip": drop the update, count it
    config.resume = "auto"  # "auto": refuse a workdir made by another config; "force": resume anyway
    config.progress_bar = True
    config.grad_cache = ml_collections.ConfigDict(dict(chunk_size=0))  # 0: off
    return config
