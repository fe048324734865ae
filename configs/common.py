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
    config.dataset = ml_collections.ConfigDict(dict(name="mnist5k", data_dir="", download=False))
    config.augment = ml_collections.ConfigDict(dict(name="none"))
    config.encoder = ml_collections.ConfigDict(dict(name="convnet"))
    config.method = ml_collections.ConfigDict(dict(name="simclr"))
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adamw", learning_rate=1e-3, weight_decay=1e-4, warmup_steps=50,
        final_lr_fraction=0.0, grad_clip_norm=0.0,
        decay_all=False))  # False: no weight decay on biases, norm scales, logit scale/bias
    config.batch_size = 256
    config.total_steps = 600
    config.mesh = ml_collections.ConfigDict(dict(data=-1, fsdp=1, fsdp_min_size=2**14))
    config.eval = ml_collections.ConfigDict(dict(
        every_steps=200, batch_size=500, knn_k=20, knn_temperature=0.07,
        final_linear_probe=True, probe_l2_grid=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), probe_max_iter=200,
        final_baselines=True, plot_embedding=True,
        # Extra rows / keys in summary.json for experiments/: a probe of the projector output
        # ("learned_projection") and label-free diagnostics (RankMe, std) of every row.
        probe_projection=False, diagnostics=False))
    config.checkpoint = ml_collections.ConfigDict(dict(every_steps=100, max_to_keep=3))
    config.log_every_steps = 10
    # Run control, not part of the experiment's identity (see train.workdir.IDENTITY_EXEMPT).
    config.nonfinite = "stop"  # "stop": halt naming the step; "skip": drop the update, count it
    config.resume = "auto"  # "auto": refuse a workdir made by another config; "force": resume anyway
    config.progress_bar = True
    config.grad_cache = ml_collections.ConfigDict(dict(chunk_size=0))  # 0: off
    return config


# The recipes the catalog shares (MNIST-sized images, the small CPU convnet).
SIMCLR_AUGMENT = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                      grayscale_p=0.0, blur_p=0.0)
BYOL_AUGMENT = dict(name="byol", crop_scale=(0.4, 1.0), flip=False, jitter=(0.4, 0.4, 0.0, 0.0),
                    grayscale_p=0.0, blur_p=(0.5, 0.1), solarize_p=(0.0, 0.2))
CAPTION_AUGMENT = dict(name="weak", num_views=1, crop_scale=(0.6, 1.0), flip=False)
SMALL_CONVNET = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
# The digit captions use 35 token ids (captions.tokenizer_for(...).vocab_size); 64 leaves room.
SMALL_TEXT_TRANSFORMER = dict(name="text_transformer", vocab_size=64, width=64, depth=2,
                              num_heads=4, causal=True, pool="last")
TINY_TEXT_TRANSFORMER = {"method.text_encoder.width": 16, "method.text_encoder.depth": 1,
                         "method.text_encoder.num_heads": 2, "method.embed_dim": 16}


def catalog_config(arg: str | None, file_name: str, *, method: dict, learning_rate: float,
                   augment: dict = SIMCLR_AUGMENT, encoder: dict = SMALL_CONVNET,
                   dataset: str = "mnist5k", tiny: dict | None = None,
                   **top_level) -> ml_collections.ConfigDict:
    """A catalog config: ``base_config()`` with one method's recipe, at ``scale=small|tiny``.

    ``top_level`` overrides dotted keys at small scale (``**{"optimizer.warmup_steps": 30}``);
    ``tiny`` overrides dotted keys after ``shrink_to_tiny``. ``file_name`` names the config in
    the error for an unknown scale.
    """
    args = parse_arg(arg, dataset=dataset, scale="small")
    config = base_config()
    config.dataset.name = args.dataset
    config.augment = dict(augment)
    config.encoder = dict(encoder)
    config.method = dict(method)
    config.optimizer.learning_rate = learning_rate
    set_dotted(config, top_level)
    if args.scale == "tiny":
        shrink_to_tiny(config)
        set_dotted(config, tiny or {})
    elif args.scale != "small":
        raise ValueError(f"configs/{file_name}: unknown scale {args.scale!r} (small | tiny).")
    return config


def shrink_to_tiny(config: ml_collections.ConfigDict) -> None:
    """The smoke-test scale: two narrow conv layers, small heads, 4 steps of 16 examples."""
    config.encoder.widths = (8, 16)
    for key, value in (("proj_hidden_dim", 32), ("proj_dim", 16), ("pred_hidden_dim", 32)):
        if key in config.method:
            config.method[key] = value
    config.batch_size = 16
    config.total_steps = 4
    config.optimizer.warmup_steps = 1
    config.eval.every_steps = 2
    config.eval.batch_size = 250
    config.checkpoint.every_steps = 2
    config.log_every_steps = 1


def set_dotted(config: ml_collections.ConfigDict, values: dict) -> None:
    """``set_dotted(c, {"method.queue_size": 64})`` sets ``c.method.queue_size = 64``."""
    for dotted, value in values.items():
        *parents, leaf = dotted.split(".")
        node = config
        for parent in parents:
            node = node[parent]
        if leaf not in node:
            raise KeyError(f"set_dotted: {dotted!r} is not a key of the config.")
        node[leaf] = value
