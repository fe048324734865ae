"""String name -> constructor, so configs compose datasets, encoders and methods by name.

Entries are import paths ("module:attribute") resolved on first use, so importing the registry
imports nothing heavy and layers never import each other through it. A name may also be a
prefix family such as ``tfds:<name>`` or ``captions:<source>``: the part after the colon is
passed to the constructor as its first argument.

An unknown name fails at once with the list of valid names (scenic's dataset registry style).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable


class Registry:
    """A named table of constructors given as ``"package.module:attribute"`` paths."""

    def __init__(self, kind: str, entries: dict[str, str], prefixes: dict[str, str] | None = None):
        self.kind = kind
        self._entries = dict(entries)
        self._prefixes = dict(prefixes or {})

    def names(self) -> list[str]:
        """All valid names, prefix families shown as ``prefix:<arg>``."""
        return sorted(self._entries) + sorted(f"{p}:<name>" for p in self._prefixes)

    def __contains__(self, name: str) -> bool:
        try:
            self._resolve_path(name)
        except KeyError:
            return False
        return True

    def _resolve_path(self, name: str) -> tuple[str, tuple[Any, ...]]:
        if name in self._entries:
            return self._entries[name], ()
        prefix, sep, rest = name.partition(":")
        if sep and prefix in self._prefixes and rest:
            return self._prefixes[prefix], (rest,)
        raise KeyError(
            f"Unknown {self.kind} {name!r}. Valid {self.kind} names: {', '.join(self.names())}."
        )

    def register(self, name: str, constructor: str | Callable[..., Any]) -> None:
        """Add ``name``: a ``"package.module:attribute"`` path or the constructor itself.

        For parts that live outside the package, e.g. a config file that registers its own
        data set before returning the config (docs/adding_a_dataset.md). A taken name is an
        error, so a typo never silently replaces a built-in part; registering the same
        ``module.qualname`` again (a config file loaded twice) replaces it.
        """
        existing = self._entries.get(name)
        if (existing is not None and _qualified(existing) != _qualified(constructor)) or (
                name.partition(":")[0] in self._prefixes):
            raise ValueError(f"{self.kind} {name!r} is already registered as "
                             f"{_qualified(existing) if existing else name.partition(':')[0] + ':<name>'}.")
        self._entries[name] = constructor

    def check(self, name: str) -> None:
        """Raise ``KeyError`` listing the valid names if ``name`` is not registered."""
        self._resolve_path(name)

    def get(self, name: str) -> Callable[..., Any]:
        """The constructor for ``name``, with any prefix argument already bound."""
        path, bound = self._resolve_path(name)
        if callable(path):
            constructor = path
        else:
            module_name, _, attribute = path.partition(":")
            constructor = getattr(importlib.import_module(module_name), attribute)
        if not bound:
            return constructor
        return lambda *args, **kwargs: constructor(*bound, *args, **kwargs)

    def constructor(self, name: str) -> Callable[..., Any]:
        """The constructor behind ``name`` itself (a prefix family's, without the bound
        argument), e.g. to read its signature."""
        path, _ = self._resolve_path(name)
        if callable(path):
            return path
        module_name, _, attribute = path.partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)


def _qualified(constructor: str | Callable[..., Any]) -> str:
    if isinstance(constructor, str):
        return constructor
    return f"{constructor.__module__}:{constructor.__qualname__}"


def config_kwargs(config, *, drop: tuple[str, ...] = ("name",)) -> dict:
    """A component's ConfigDict (or dict) as constructor kwargs, less the registry ``name``
    (lists become tuples: jit needs hashables)."""
    values = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in values.items() if key not in drop}


def unaccepted_options(constructor: Callable[..., Any], kwargs: dict) -> list[str]:
    """The keys of ``kwargs`` that ``constructor``'s signature does not take (none when it
    takes ``**kwargs``), sorted. A class is read through its ``__init__``: NNX modules' metaclass
    makes the class itself look like ``(*args, **kwargs)``."""
    target = constructor.__init__ if inspect.isclass(constructor) else constructor
    parameters = inspect.signature(target).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return []
    names = {p.name for p in parameters}
    return sorted(key for key in kwargs if key not in names)


# --- datasets: fn(split: str, *, data_dir, seed) -> data.sources.ArraySource-like source ------
DATASETS = Registry(
    "dataset",
    {
        "digits": "contrastive_jax.data.sources:digits",
        "mnist5k": "contrastive_jax.data.sources:mnist5k",
    },
    prefixes={
        "tfds": "contrastive_jax.data.tfds_source:tfds_source",
        "folder": "contrastive_jax.data.folder_source:folder_source",
        "captions": "contrastive_jax.data.captions:captions_source",
        "textured": "contrastive_jax.data.textured:textured_source",
        "composites": "contrastive_jax.data.composites:composites_source",
        "ucr": "contrastive_jax.data.ucr:ucr_source",
        # regression: records carry a float "target" (data.regression)
        "rotated": "contrastive_jax.data.regression:rotated_source",
        "tabular": "contrastive_jax.data.regression:tabular_source",
        "graph": "contrastive_jax.data.graphs:graph_source",
        # text: query/document pairs or plain texts, tokenized by a BPE kept in the workdir
        "codesearch": "contrastive_jax.data.text_corpus:codesearch_source",
        "sentences": "contrastive_jax.data.text_corpus:sentences_source",
        "text": "contrastive_jax.data.text_corpus:text_source",
    },
)

# --- augmentation presets: fn(**kwargs) -> augment(rng, images[B,H,W,C] f32 in [0,1]) ---------
AUGMENTATIONS = Registry(
    "augmentation",
    {
        "none": "contrastive_jax.data.augment:identity_preset",
        "simclr": "contrastive_jax.data.augment:simclr",
        "byol": "contrastive_jax.data.augment:byol",
        "weak": "contrastive_jax.data.augment:weak",
        "multicrop": "contrastive_jax.data.augment:multicrop",
        # time series: views(rng, series [B, T, C], mask [B, T])
        "ts2vec": "contrastive_jax.data.augment_series:ts2vec",
        "series": "contrastive_jax.data.augment_series:series",
        # graphs: views(rng, x [N, F], edge_mask [E]) -> GraphViews
        "grace": "contrastive_jax.data.augment_graph:grace",
    },
)

# --- encoders: fn(*, rngs: nnx.Rngs, in_shape, **kwargs) -> nnx.Module with .feature_dim -----
ENCODERS = Registry(
    "encoder",
    {
        "convnet": "contrastive_jax.models.convnet:ConvNet",
        "resnet18": "contrastive_jax.models.resnet:resnet18",
        "resnet50": "contrastive_jax.models.resnet:resnet50",
        "vit_ti": "contrastive_jax.models.vit:vit_ti",
        "vit_s": "contrastive_jax.models.vit:vit_s",
        "vit_b": "contrastive_jax.models.vit:vit_b",
        "vit": "contrastive_jax.models.vit:ViT",
        "mlp": "contrastive_jax.models.mlp:MLPEncoder",
        "text_transformer": "contrastive_jax.models.text:TextTransformer",
        # time series: x [B, T, C] (+ mask [B, T]) -> [B, D]
        "ts2vec": "contrastive_jax.models.ts2vec:TS2VecEncoder",
        # graphs: x [N, F], edges [E, 2], edge_mask [E] -> [N, D]
        "gcn": "contrastive_jax.models.gcn:GCNEncoder",
    },
)

# --- methods: cls(options, *, encoder, image_shape, make_views, num_views, batch_size,
#     total_steps, num_classes, name, num_examples) -> methods.base.Method; built by train.build.build_method,
#     cls.options_type declares the keys of config.method ---------------------------------------
METHODS = Registry(
    "method",
    {
        "simclr": "contrastive_jax.methods.simclr:SimCLR",
        "dcl": "contrastive_jax.methods.dcl:DCL",
        "dclw": "contrastive_jax.methods.dcl:DCLW",
        "supcon": "contrastive_jax.methods.supcon:SupCon",
        "supremix": "contrastive_jax.methods.regression:SupReMix",
        "supcon_bins": "contrastive_jax.methods.regression:SupConBins",
        "l1_regression": "contrastive_jax.methods.regression:L1Regression",
        "moco_v2": "contrastive_jax.methods.moco:MoCoV2",
        "mochi": "contrastive_jax.methods.moco:MoCHi",
        "moco_v3": "contrastive_jax.methods.moco:MoCoV3",
        "byol": "contrastive_jax.methods.byol:BYOL",
        "simsiam": "contrastive_jax.methods.simsiam:SimSiam",
        "directpred": "contrastive_jax.methods.directpred:DirectPred",
        "swav": "contrastive_jax.methods.swav:SwAV",
        "dino": "contrastive_jax.methods.dino:DINO",
        "sogclr": "contrastive_jax.methods.sogclr:SogCLR",
        "isogclr": "contrastive_jax.methods.sogclr:ISogCLR",
        "mcl": "contrastive_jax.methods.mcl:MCL",
        "barlow_twins": "contrastive_jax.methods.decorrelation:BarlowTwins",
        "vicreg": "contrastive_jax.methods.decorrelation:VICReg",
        "wmse": "contrastive_jax.methods.decorrelation:WMSE",
        "nnclr": "contrastive_jax.methods.nnclr:NNCLR",
        "mv_infonce": "contrastive_jax.methods.multiview:MVInfoNCE",
        "mv_dhel": "contrastive_jax.methods.multiview:MVDHEL",
        "cacr": "contrastive_jax.methods.cacr:CACR",
        "groco": "contrastive_jax.methods.groco:GroCo",
        "moco_v2_ft": "contrastive_jax.methods.feature_transformation:MoCoV2FT",
        "simclr_amcl": "contrastive_jax.methods.amcl:SimCLRAMCL",
        "moco_v3_amcl": "contrastive_jax.methods.amcl:MoCoV3AMCL",
        "clip": "contrastive_jax.methods.clip:CLIP",
        "siglip": "contrastive_jax.methods.clip:SigLIP",
        "negclip": "contrastive_jax.methods.image_text:NegCLIP",
        "soft_clip": "contrastive_jax.methods.image_text:SoftCLIP",
        "cleanclip": "contrastive_jax.methods.image_text:CleanCLIP",
        "protoclip": "contrastive_jax.methods.image_text:ProtoCLIP",
        "ts2vec": "contrastive_jax.methods.ts2vec:TS2Vec",
        "grace": "contrastive_jax.methods.grace:GRACE",
        # text: query/document pairs (codesearch:stdlib, text:<pairs.jsonl>)
        "dual_encoder": "contrastive_jax.methods.dual_encoder:DualEncoder",
        # text: batch["text"] int32 [B, L] -> sentence embeddings (methods.sentence, sentence_queue)
        "simcse": "contrastive_jax.methods.sentence:SimCSE",
        "esimcse": "contrastive_jax.methods.sentence_queue:ESimCSE",
        "debcse": "contrastive_jax.methods.sentence:DebCSE",
        "whitenedcse": "contrastive_jax.methods.sentence:WhitenedCSE",
        "contriever": "contrastive_jax.methods.sentence_queue:Contriever",
    },
)
