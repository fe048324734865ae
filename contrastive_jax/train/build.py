"""From a config to the parts of an experiment, with every name and key checked up front.

Everything here fails before any data is loaded or anything compiled, naming what is wrong and
what is valid. ``TOP_LEVEL_KEYS`` is the one list of an experiment's keys (``configs/`` imports
it); ``build_method`` is how a method is made from a config: its declared options from
``config.method``, and the batch size, step count, encoder config and view count explicitly.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import ml_collections

from contrastive_jax.registry import AUGMENTATIONS, DATASETS, ENCODERS, METHODS, config_kwargs
from contrastive_jax.train.state import COMPUTE_DTYPES

TOP_LEVEL_KEYS = ("seed", "dataset", "augment", "encoder", "method", "optimizer", "batch_size",
                  "total_steps", "mesh", "eval", "checkpoint", "log_every_steps", "dtype")
RUN_CONTROL_KEYS = ("nonfinite", "resume", "progress_bar", "distributed", "grad_cache",
                    "compilation_cache_dir")
NONFINITE_POLICIES = ("stop", "skip")

# (section, key, check, what it must be): ranges of the evaluation and checkpoint settings.
_SECTION_RANGES = (
    ("eval", "every_steps", lambda v: isinstance(v, int) and v >= 1, "a positive integer"),
    ("eval", "batch_size", lambda v: isinstance(v, int) and v >= 1, "a positive integer"),
    ("eval", "knn_k", lambda v: isinstance(v, int) and v >= 1,
     "a positive integer (the number of neighbours)"),
    ("eval", "knn_temperature", lambda v: isinstance(v, (int, float)) and v > 0, "> 0"),
    ("eval", "probe_max_iter", lambda v: isinstance(v, int) and v >= 1, "a positive integer"),
    ("eval", "probe_l2_grid", lambda v: len(v) >= 1 and all(x > 0 for x in v),
     "a non-empty list of L2 weights > 0"),
    ("eval", "low_label_shots", lambda v: all(isinstance(k, int) and k >= 1 for k in v),
     "a list of positive integers (labelled examples per class), () for none"),
    ("eval", "low_label_draws", lambda v: isinstance(v, int) and v >= 1, "a positive integer"),
    ("checkpoint", "every_steps", lambda v: isinstance(v, int) and v >= 1, "a positive integer"),
    ("checkpoint", "max_to_keep", lambda v: isinstance(v, int) and v >= 1, "a positive integer"),
)


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Raise ``ValueError`` for a missing/unknown top-level key, an unknown component name, a
    method option the method does not declare (or a required one missing) or an impossible
    number, before any data is loaded or anything compiled. Prints one note naming encoder
    options the chosen encoder does not take (they are ignored)."""
    keys = set(config.keys())
    missing = [k for k in TOP_LEVEL_KEYS if k not in keys]
    unknown = sorted(keys - set(TOP_LEVEL_KEYS) - set(RUN_CONTROL_KEYS))
    if missing:
        raise ValueError(f"config is missing top-level key(s) {missing}.")
    if unknown:
        raise ValueError(f"config has unknown top-level key(s) {unknown}; valid keys: "
                         f"{', '.join(TOP_LEVEL_KEYS + RUN_CONTROL_KEYS)}.")
    for registry, part in ((DATASETS, config.dataset), (AUGMENTATIONS, config.augment),
                           (ENCODERS, config.encoder), (METHODS, config.method)):
        if "name" not in part:
            raise ValueError(f"config.{registry.kind} needs a 'name'; valid: {registry.names()}.")
        if registry is DATASETS and part.name == "folder":
            raise ValueError("config.dataset.name is 'folder': name the image folder, e.g. "
                             "--config.dataset.name=folder:/data/my_images.")
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
    for section, key, valid, expected in _SECTION_RANGES:
        if key in config[section] and not valid(config[section][key]):
            raise ValueError(f"config.{section}.{key} must be {expected}, got "
                             f"{config[section][key]!r}.")
    imbalance = config.dataset.get("imbalance", 1.0)
    if not isinstance(imbalance, (int, float)) or not math.isfinite(imbalance) or imbalance < 1:
        raise ValueError(f"config.dataset.imbalance must be a ratio >= 1 (1: balanced; 10: the "
                         f"most frequent class has 10x the least frequent), got {imbalance!r}.")
    if config.get("nonfinite", "stop") not in NONFINITE_POLICIES:
        raise ValueError(f"config.nonfinite must be one of {NONFINITE_POLICIES}, "
                         f"got {config.nonfinite!r}.")
    if config.dtype not in COMPUTE_DTYPES:
        raise ValueError(f"config.dtype must be one of {COMPUTE_DTYPES} (the activations' dtype; "
                         f"parameters stay float32), got {config.dtype!r}.")
    if not isinstance(config.get("compilation_cache_dir", "auto"), str):
        raise ValueError(f"config.compilation_cache_dir must be a directory, 'auto' or '' (off), "
                         f"got {config.compilation_cache_dir!r}.")
    if config.get("resume", "auto") not in ("auto", "force"):
        raise ValueError(f"config.resume must be 'auto' or 'force', got {config.resume!r}.")
    _check_loss_form(config, method_options(config))
    _check_captions(config)
    _note_dropped_encoder_options(config)


def method_options(config: ml_collections.ConfigDict):
    """``config.method`` as the named method's declared options object (checked)."""
    from contrastive_jax.methods.options import options_from_config

    method_type = METHODS.get(config.method.name)
    return options_from_config(method_type.options_type, config.method, config.method.name)


def _check_loss_form(config: ml_collections.ConfigDict, options) -> None:
    """``config.method.loss_block_size`` / ``cross_device`` are ones the method's loss has
    (``Method.loss_forms``); a sharded loss (all_gather / ring) is not combined with GradCache,
    whose loss runs on embeddings gathered across chunks under jit."""
    from contrastive_jax.methods.batch_loss import check_loss_form

    method_type = METHODS.get(config.method.name)
    check_loss_form(config.method.name, options, method_type.loss_forms(options))
    chunk_size = config.get("grad_cache", {}).get("chunk_size", 0)
    if chunk_size and getattr(options, "cross_device", "global") != "global":
        raise ValueError(f"config.grad_cache.chunk_size={chunk_size} computes the loss under "
                         f"jit on the global batch: use config.method.cross_device='global' "
                         f"(with loss_block_size > 0 for the memory-bounded loss), or "
                         f"grad_cache.chunk_size=0 for {options.cross_device!r}.")


# Dataset families whose records carry caption tokens ("text").
CAPTION_DATASETS = ("captions:", "composites:")


def _check_captions(config: ml_collections.ConfigDict) -> None:
    method_type = METHODS.get(config.method.name)
    has_text = (str(config.dataset.name).startswith(CAPTION_DATASETS)
                or bool(config.dataset.get("text_key")))
    if method_type.needs_captions and not has_text:
        raise ValueError(f"method {config.method.name!r} trains on image-caption pairs: use "
                         f"a captions:<source> dataset (e.g. captions:mnist5k; or "
                         f"composites:<source>, two-digit composites), or an image-text "
                         f"tfds set with dataset.text_key (e.g. tfds:laion400m/images with "
                         f"text_key=caption), got {config.dataset.name!r}.")


def check_text_vocabulary(config: ml_collections.ConfigDict, source) -> None:
    """A source's tokenizer must fit the text encoder's embedding table."""
    tokenizer = getattr(source, "tokenizer", None)
    text_encoder = config.method.get("text_encoder")
    if text_encoder is None and "vocab_size" in config.encoder:  # a text method's own encoder
        if tokenizer is not None and tokenizer.vocab_size > config.encoder.vocab_size:
            raise ValueError(f"{source.info.name}'s tokenizer has {tokenizer.vocab_size} ids but "
                             f"encoder.vocab_size={config.encoder.vocab_size}: raise "
                             f"--config.encoder.vocab_size to >= {tokenizer.vocab_size} (or "
                             f"lower dataset.vocab_size).")
        return
    if tokenizer is None or text_encoder is None or "vocab_size" not in text_encoder:
        return
    if tokenizer.vocab_size > text_encoder.vocab_size:
        raise ValueError(f"{source.info.name}'s tokenizer has {tokenizer.vocab_size} ids but "
                         f"method.text_encoder.vocab_size={text_encoder.vocab_size}: raise "
                         f"--config.method.text_encoder.vocab_size to >= "
                         f"{tokenizer.vocab_size} (or lower dataset.text_vocab_size).")


def _note_dropped_encoder_options(config: ml_collections.ConfigDict) -> None:
    from contrastive_jax.methods.base import encoder_options

    _, dropped = encoder_options(config.encoder)
    if dropped:
        print(f"note: encoder {config.encoder.name!r} takes no option(s) {', '.join(dropped)}; "
              f"they are ignored.", flush=True)


def num_views_made(make_views, augment_config) -> int:
    """Views per example: the view function's ``num_views``, else ``augment.num_views`` (2)."""
    count = getattr(make_views, "num_views", None)
    if count is None:
        count = augment_config.get("num_views", 2)
    return int(count)


def build_method(config: ml_collections.ConfigDict, *, image_shape, make_views,
                 num_classes: int | None = None, num_examples: int | None = None):
    """The method named by ``config.method.name``, given its declared options and the run's
    sizes explicitly (never the whole config). ``num_examples``: the training split's size,
    for methods with per-example state (the others ignore it)."""
    method_type = METHODS.get(config.method.name)
    options = method_options(config)
    _check_loss_form(config, options)
    _check_captions(config)
    num_views = num_views_made(make_views, config.augment)
    if num_views < method_type.min_views:
        raise ValueError(
            f"method {config.method.name!r} needs at least {method_type.min_views} views per "
            f"example, but augment {config.augment.name!r} makes {num_views}; set "
            f"config.augment.num_views >= {method_type.min_views}.")
    return method_type(options, encoder=config.encoder, image_shape=image_shape,
                       make_views=make_views, num_views=num_views, batch_size=config.batch_size,
                       total_steps=config.total_steps, num_classes=num_classes,
                       name=config.method.name, num_examples=num_examples)


@dataclasses.dataclass
class Parts:
    """What a run is made of, built from a validated config."""

    train_source: object
    test_source: object
    make_views: object
    method: object
    host_crop: object = None  # data.host_image.HostCrop for a variable-size source
    # The balanced train split the probes read when ``train_source`` is a long-tailed subset
    # of it (``dataset.imbalance``); None: the probes read ``train_source``.
    probe_source: object = None


def build_views(augment_config: ml_collections.ConfigDict):
    """The view function named by ``augment_config.name``, with the other keys as options."""
    augment_kwargs = config_kwargs(augment_config)
    try:
        return AUGMENTATIONS.build(augment_config.name, **augment_kwargs)
    except TypeError as error:
        raise ValueError(f"augment {augment_config.name!r} rejected its options "
                         f"{sorted(augment_kwargs)}: {error}") from error


def takes_workdir(constructor) -> bool:
    """Whether a source constructor names a ``workdir`` parameter (one that takes any keyword,
    like ``graph:<kind>``, is not offered it: its ``**options`` are the data set's own)."""
    target = constructor.__init__ if inspect.isclass(constructor) else constructor
    return "workdir" in inspect.signature(target).parameters


def build_parts(config: ml_collections.ConfigDict, workdir: str | None = None) -> Parts:
    """Load the data sources and build the view function and the method. ``workdir``: the
    run's, given to sources that keep files there (a text source's ``tokenizer.json``)."""
    from contrastive_jax.data import build_source

    data_dir = config.dataset.get("data_dir") or None
    options = dataset_options(config.dataset)
    if workdir and takes_workdir(DATASETS.constructor(config.dataset.name)):
        options["workdir"] = workdir
    train_source = build_source(config.dataset.name, "train", data_dir=data_dir,
                                seed=config.seed, **options)
    test_source = build_source(config.dataset.name, "test", data_dir=data_dir, seed=config.seed,
                               **options)
    check_text_vocabulary(config, train_source)
    probe_source = None
    ratio = float(config.dataset.get("imbalance", 1.0))
    if ratio != 1.0:  # long-tailed training set; the probes and the test split stay balanced
        from contrastive_jax.data.imbalance import long_tailed

        probe_source = train_source
        train_source = long_tailed(train_source, ratio=ratio, seed=config.seed)
    make_views = build_views(config.augment)
    host_crop = build_host_crop(train_source.info, make_views)
    method = build_method(config, image_shape=train_source.info.image_shape,
                          make_views=make_views, num_classes=train_source.info.num_classes,
                          num_examples=len(train_source))
    return Parts(train_source, test_source, make_views, method, host_crop, probe_source)


# ``imbalance`` is read by ``build_parts`` (data.imbalance), not passed to the source.
DATASET_COMMON_KEYS = ("name", "data_dir", "download", "imbalance")


def dataset_options(dataset_config) -> dict:
    """``config.dataset`` less the keys every data set has: the source's own options."""
    return config_kwargs(dataset_config, drop=DATASET_COMMON_KEYS)


def build_host_crop(info, make_views):
    """The host crop of a variable-size source (None for a fixed-size one): one random
    resized crop per view to ``info.image_shape``, with the crop scale and ratio of that view's
    recipe; the device then skips its crop. Multi-crop with per-view sizes is refused."""
    from contrastive_jax.data.host_image import HostCrop

    if not getattr(info, "variable_size", False):
        return None
    size, _, channels = info.image_shape
    recipes = getattr(make_views, "recipes", None)
    if recipes is None:
        raise ValueError(f"{info.name} has variable-size images, cropped on the host per view; "
                         f"that needs a ViewSampler augmentation (simclr, byol, weak, none).")
    sizes = {r.out_size for r in recipes if r is not None and r.out_size is not None}
    if len(sizes) > 1 or getattr(make_views, "num_global", len(recipes)) < len(recipes):
        raise ValueError(f"{info.name} has variable-size images, cropped on the host to one "
                         f"size ({size}); multi-crop views of several sizes are not supported "
                         f"on such sources. Use a single-size augmentation (e.g. simclr).")
    full = ((1.0, 1.0), (1.0, 1.0))
    scales = tuple((r.crop_scale, r.crop_ratio) if r is not None and r.crop_scale is not None
                   else full for r in recipes)
    return HostCrop(size=size, scales=tuple(s for s, _ in scales),
                    ratios=tuple(r for _, r in scales), channels=channels)
