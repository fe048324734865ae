"""Shared pieces of every config: the argument grammar, the default top-level keys and the
smoke-test scale. Each ``configs/<method>.py`` writes its own recipe (batch size, steps,
augmentation, encoder, optimizer, method options) over ``base_config()``.

``get_config(arg)`` takes a comma list ``key=value`` (e.g. ``dataset=mnist5k,scale=small``),
as big_vision's ``parse_arg`` does. Values are parsed as Python literals when they look like
one (numbers, booleans), else kept as strings; nothing is evaluated.
"""

from __future__ import annotations

import ast
import math

import ml_collections

# The one list of an experiment's top-level keys lives in the package (configs import the
# package, never the other way).
from contrastive_jax.train.build import TOP_LEVEL_KEYS  # noqa: F401  (re-exported)


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
    # imbalance: 1 (balanced), or a ratio r > 1 for a long-tailed training set whose class c
    # keeps n_max * r ** (-c / (C - 1)) examples (data.imbalance); evaluation stays balanced.
    config.dataset = ml_collections.ConfigDict(dict(name="mnist5k", data_dir="", download=False,
                                                    imbalance=1.0))
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
        probe_projection=False, diagnostics=False,
        # Low-label probes (evaluate.low_label): e.g. (1, 5, 10, 100) labelled examples per
        # class, averaged over low_label_draws seeded draws, fixed probe L2; () is off.
        low_label_shots=(), low_label_draws=5, low_label_l2=1e-2))
    config.checkpoint = ml_collections.ConfigDict(dict(every_steps=100, max_to_keep=3))
    config.log_every_steps = 10
    # Activations' dtype: "bfloat16" for mixed precision (parameters, gradients, optimizer
    # state and the loss's logits stay float32).
    config.dtype = "float32"
    # Run control, not part of the experiment's identity (see train.workdir.IDENTITY_EXEMPT).
    config.nonfinite = "stop"  # "stop": halt naming the step; "skip": drop the update, count it
    config.resume = "auto"  # "auto": refuse a workdir made by another config; "force": resume anyway
    config.progress_bar = True
    config.grad_cache = ml_collections.ConfigDict(dict(chunk_size=0))  # 0: off
    # Compiled programs kept across runs of `main` (train.compile_cache): "auto" is the user
    # cache directory (~/.cache/contrastive_jax/jax_cache), a path names one, "" turns it off.
    config.compilation_cache_dir = "auto"
    return config


def image_folder_dataset(config: ml_collections.ConfigDict, image_size: int = 64) -> None:
    """Settings for a folder of photos (``folder:<path>``, any sizes): RGB crops of
    ``image_size`` made on the host, the full SimCLR augmentation of them on device, and a
    convnet that mean-pools (a flattened 64x64 map would be a 16k-wide feature). The name is
    a placeholder until ``--config.dataset.name=folder:/path`` sets the folder."""
    config.dataset = ml_collections.ConfigDict(dict(
        name="folder", data_dir="", download=False, image_size=image_size, channels=3,
        on_bad_file="skip", imbalance=1.0))
    config.augment = ml_collections.ConfigDict(dict(
        name="simclr", crop_scale=(0.08, 1.0), flip=True, jitter_strength=1.0, grayscale_p=0.2,
        blur_p=0.5))
    if config.encoder.name == "convnet":
        config.encoder.pool = "mean"


def at_scale(config: ml_collections.ConfigDict, scale: str, file_name: str, *,
             tiny: dict | None = None, paper=None) -> ml_collections.ConfigDict:
    """``config`` as is for ``scale=small``; for ``scale=tiny``, ``shrink_to_tiny`` and then
    the config's own dotted ``tiny`` overrides; for ``scale=paper`` (configs that have one),
    ``paper(config)``, the config's own paper recipe written over it. ``file_name`` names the
    config in the error for an unknown scale."""
    if scale == "tiny":
        shrink_to_tiny(config)
        set_dotted(config, tiny or {})
    elif scale == "paper" and paper is not None:
        paper(config)
    elif scale != "small":
        valid = "small | tiny" + (" | paper" if paper is not None else "")
        raise ValueError(f"configs/{file_name}: unknown scale {scale!r} ({valid}).")
    return config


# ImageNet-1k (ILSVRC-2012) train split: the epoch every paper recipe counts in.
IMAGENET_TRAIN_EXAMPLES = 1_281_167


def epochs_to_steps(epochs: float, batch_size: int,
                    num_examples: int = IMAGENET_TRAIN_EXAMPLES) -> int:
    """``round(epochs * num_examples / batch_size)``: e.g. 100 ImageNet epochs at batch 4096
    are 31,278 steps."""
    return int(round(epochs * num_examples / batch_size))


def paper_scale(config: ml_collections.ConfigDict, dataset: str, *, batch_size: int,
                epochs: float, warmup_epochs: float, base_learning_rate: float,
                weight_decay: float, image_size: int = 224) -> None:
    """The settings every ``scale=paper`` recipe shares: ``dataset`` (``"mnist5k"``, the
    argument's default, means ``tfds:imagenet2012``) read as variable-size RGB and cropped to
    ``image_size`` on the host; ``epochs`` of ImageNet at ``batch_size``; LARS (momentum 0.9,
    no decay or trust ratio on biases and norm scales) at ``base_learning_rate x
    batch_size / 256`` with a linear warmup of ``warmup_epochs`` and cosine decay to 0;
    bfloat16 activations over a data-parallel mesh of every device; evaluation sized for
    ImageNet. The learning rate is computed for ``batch_size``: a run at another batch size
    sets ``--config.optimizer.learning_rate`` too."""
    name = "tfds:imagenet2012" if dataset == "mnist5k" else dataset
    config.dataset = ml_collections.ConfigDict(dict(
        name=name, data_dir="", download=False, image_size=image_size, channels=3,
        imbalance=1.0))
    if name == "folder" or name.startswith("folder:"):
        config.dataset.on_bad_file = "skip"
    config.batch_size = batch_size
    config.total_steps = epochs_to_steps(epochs, batch_size)
    config.optimizer = ml_collections.ConfigDict(dict(
        name="lars", learning_rate=base_learning_rate * batch_size / 256,
        weight_decay=weight_decay, momentum=0.9,
        warmup_steps=epochs_to_steps(warmup_epochs, batch_size), final_lr_fraction=0.0,
        grad_clip_norm=0.0, decay_all=False))
    config.mesh = ml_collections.ConfigDict(dict(data=-1, fsdp=1, fsdp_min_size=2**14))
    config.dtype = "bfloat16"
    config.log_every_steps = 100
    # The weighted kNN (the online evaluation, and the final table's only evaluator here)
    # embeds both splits every ~16 epochs: 1.28M 2048-d float32 train features are ~10 GB on
    # the host and on the one accelerator that runs the kNN (plus [1024, 1.28M] similarities),
    # which a 32 GB+ chip holds. The full-batch L-BFGS probe needs about three times that on
    # one chip, so it is off (``--config.eval.final_linear_probe=True`` on a large-memory
    # chip); the paper's linear evaluation is a separate 90-epoch run. Raw-pixel and
    # random-init baselines of 224 x 224 x 3 images are not computed at this scale.
    config.eval.update(dict(every_steps=5000, batch_size=1024, knn_k=20, knn_temperature=0.07,
                            final_linear_probe=False, probe_l2_grid=(1e-6, 1e-5, 1e-4),
                            final_baselines=False, plot_embedding=True))
    config.checkpoint = ml_collections.ConfigDict(dict(every_steps=1000, max_to_keep=3))
    config.progress_bar = False


# LAION-400M through TFDS: the public web image-text set closest to CLIP's WIT-400M and
# SigLIP's WebLI. Label-less, so the final table is held-out image<->text retrieval on a held-out
# 0.1% of it (it has one TFDS split).
LAION = "tfds:laion400m/images"


def image_text_paper_scale(config: ml_collections.ConfigDict, dataset: str, *,
                           batch_size: int, examples_seen: float, warmup_steps: int,
                           learning_rate: float, weight_decay: float, b2: float, eps: float,
                           text_length: int, vocab_size: int, embed_dim: int,
                           text_width: int, text_depth: int, text_heads: int) -> None:
    """The settings the ``scale=paper`` CLIP / SigLIP recipes share: ``dataset`` (``"captions:
    mnist5k"``, the argument's default, means LAION-400M) with its ``caption`` feature tokenized
    by a BPE of ``vocab_size`` ids to ``text_length`` tokens, 224 px RGB crops made on the host;
    a ViT-B/16 image tower (written out, so overrides can shrink it) and a causal text
    transformer pooled at the end-of-text token; ``examples_seen / batch_size`` steps of AdamW
    (``b2``, ``eps``) with linear warmup and cosine decay; the loss blockwise through the ring
    over a data-parallel mesh of every device; bfloat16 activations."""
    name = LAION if dataset == "captions:mnist5k" else dataset
    config.dataset = ml_collections.ConfigDict(dict(
        name=name, data_dir="", download=False, image_size=224, channels=3,
        text_key="caption", text_length=text_length, text_vocab_size=vocab_size,
        tokenizer_examples=1_000_000, train_split="train[1000:]", test_split="train[:1000]"))
    config.augment = ml_collections.ConfigDict(dict(
        name="weak", num_views=1, crop_scale=(0.9, 1.0), flip=False))
    config.encoder = ml_collections.ConfigDict(dict(
        name="vit", patch_size=16, width=768, depth=12, num_heads=12, pool="cls"))
    config.method.embed_dim = embed_dim
    config.method.text_encoder = ml_collections.ConfigDict(dict(
        name="text_transformer", vocab_size=vocab_size, width=text_width, depth=text_depth,
        num_heads=text_heads, causal=True, pool="last"))
    config.method.loss_block_size = 1024
    config.method.cross_device = "ring"
    config.batch_size = batch_size
    config.total_steps = int(round(examples_seen / batch_size))
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adamw", learning_rate=learning_rate, weight_decay=weight_decay, b1=0.9, b2=b2,
        eps=eps, warmup_steps=warmup_steps, final_lr_fraction=0.0, grad_clip_norm=0.0,
        decay_all=False))
    config.mesh = ml_collections.ConfigDict(dict(data=-1, fsdp=1, fsdp_min_size=2**14))
    config.dtype = "bfloat16"
    config.log_every_steps = 100
    # No labels: the online and final evaluation is Recall@K on the 1,000 held-out pairs.
    config.eval.update(dict(every_steps=5000, batch_size=1024, final_linear_probe=False,
                            final_baselines=True, plot_embedding=False))
    config.checkpoint = ml_collections.ConfigDict(dict(every_steps=1000, max_to_keep=3))
    config.progress_bar = False


# Per encoder, the options ``shrink_to_tiny`` sets (narrow and shallow, for CPU tests); the
# fixed-size presets (vit_ti, ...) keep theirs.
TINY_ENCODER_OPTIONS = {
    "convnet": dict(widths=(8, 16)),
    "mlp": dict(widths=(8, 16)),
    "resnet18": dict(width_multiplier=0.125),
    "resnet50": dict(width_multiplier=0.125),
    "vit": dict(width=16, depth=1, num_heads=2),
}


def shrink_to_tiny(config: ml_collections.ConfigDict) -> None:
    """The smoke-test scale: a narrow encoder, small heads, 4 steps of 16 examples."""
    for key, value in TINY_ENCODER_OPTIONS.get(config.encoder.name, {}).items():
        config.encoder[key] = value
    for key, value in (("proj_hidden_dim", 32), ("proj_dim", 16), ("pred_hidden_dim", 32)):
        if key in config.method:
            config.method[key] = value
    config.batch_size = 16
    config.total_steps = 4
    config.optimizer.warmup_steps = 1
    config.eval.every_steps = 2
    config.eval.batch_size = 250
    config.eval.probe_l2_grid = (1e-2,)  # a smoke test fits one probe per row, no L2 search
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


# --- the CLIP-family configs (negclip, soft_clip, cleanclip, protoclip) ------------------------
# The same towers, optimizer and schedule as configs/clip.py, so their rows compare with CLIP's.
# composites:<source> captions use 18 token ids, captions:<source> 35; 64 leaves room.
IMAGE_TEXT_ENCODER = dict(name="text_transformer", vocab_size=64, width=64, depth=2,
                          num_heads=4, causal=True, pool="last")
IMAGE_TEXT_TINY = {"method.text_encoder.width": 16, "method.text_encoder.depth": 1,
                   "method.text_encoder.num_heads": 2, "method.embed_dim": 16}


def image_text_config(args, method: dict, *, num_views: int = 1):
    """CLIP's small-scale recipe on ``args.dataset`` with ``config.method = method`` (plus the
    CLIP options). Composites keep their left/right halves: no flip, crops of at least 80%."""
    config = base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 600
    composites = str(args.dataset).startswith("composites:")
    config.augment = dict(name="weak", num_views=num_views,
                          crop_scale=(0.8, 1.0) if composites else (0.6, 1.0), flip=False)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 1e-3
    config.method = dict(embed_dim=64, log_scale_init=math.log(1 / 0.07), max_logit_scale=100.0,
                         text_encoder=dict(IMAGE_TEXT_ENCODER), **method)
    # How the loss is computed, not what: --config.method.loss_block_size=1024 streams key
    # blocks; --config.method.cross_device=all_gather|ring shards it over the mesh.
    config.method.loss_block_size = 0
    config.method.cross_device = "global"
    return config
