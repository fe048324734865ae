"""Declared method options: one frozen dataclass per method holds its keys and defaults.

``config.method`` (less its ``name``) becomes the method's options object through
``options_from_config``, which fails before anything is built or compiled for a key the method
does not declare (with a "did you mean"), for a declared key without a default that the config
lacks, and for a value out of range (each options class checks its ranges in
``__post_init__``). Every message lists the valid options with their defaults.

Families share options by inheritance: ``SimCLROptions(ProjectorOptions)`` adds ``temperature``
to the projector's keys, and a new method extends the closest class with its own fields.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable

MISSING = dataclasses.MISSING


@dataclasses.dataclass(frozen=True, kw_only=True)
class MethodOptions:
    """No options: the base of every method's options (``config.method.name`` is not one)."""

    def __post_init__(self):
        pass

    def check(self, name: str, valid: Callable[[Any], bool], expected: str) -> None:
        """Raise ``ValueError`` naming ``config.method.<name>`` unless ``valid(value)``."""
        value = getattr(self, name)
        if not valid(value):
            raise ValueError(f"config.method.{name} must be {expected}, got {value!r}.")

    def check_positive(self, *names: str) -> None:
        for name in names:
            self.check(name, lambda v: v > 0, "> 0")

    def check_at_least(self, minimum: int, *names: str) -> None:
        for name in names:
            self.check(name, lambda v: v >= minimum, f">= {minimum}")

    def check_choice(self, name: str, choices: tuple) -> None:
        self.check(name, lambda v: v in choices, f"one of {choices}")


def describe(options_type: type[MethodOptions]) -> str:
    """``"temperature (required), proj_norm='batch', ..."``: the declared keys and defaults."""
    parts = []
    for field in dataclasses.fields(options_type):
        if field.default is not MISSING:
            parts.append(f"{field.name}={field.default!r}")
        elif field.default_factory is not MISSING:
            parts.append(f"{field.name}={field.default_factory()!r}")
        else:
            parts.append(f"{field.name} (required)")
    return ", ".join(parts) or "(none)"


def _as_value(value):
    """Config values as the options hold them: lists become tuples (hashable, jit-static)."""
    if isinstance(value, list):
        return tuple(_as_value(v) for v in value)
    if isinstance(value, dict):
        return {key: _as_value(v) for key, v in value.items()}
    return value


def options_from_config(options_type: type[MethodOptions], method_config,
                        method_name: str = "") -> MethodOptions:
    """``config.method`` -> ``options_type(...)``; a ``ValueError`` listing the valid options
    for an undeclared key, a missing required key or a value out of range."""
    values = dict(method_config.to_dict() if hasattr(method_config, "to_dict")
                  else method_config)
    values.pop("name", None)
    fields = {field.name: field for field in dataclasses.fields(options_type)}
    label = f"method {method_name!r}" if method_name else options_type.__name__
    valid = f"valid options of {label}: {describe(options_type)}."
    unknown = sorted(set(values) - set(fields))
    if unknown:
        hints = [f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key)
                 for key in unknown
                 for close in [difflib.get_close_matches(key, list(fields), n=1)]]
        raise ValueError(f"config.method has unknown option(s) {', '.join(hints)}; {valid}")
    missing = [name for name, field in fields.items() if name not in values
               and field.default is MISSING and field.default_factory is MISSING]
    if missing:
        raise ValueError(f"config.method is missing required option(s) {missing}; {valid}")
    return options_type(**{key: _as_value(value) for key, value in values.items()})


# --- the shared families -------------------------------------------------------------------

PROJECTOR_NORMS = ("batch", "none")
PREDICTORS = ("mlp", "linear", "none")
MOMENTUM_SCHEDULES = ("cosine", "constant")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProjectorOptions(MethodOptions):
    """An ``encoder -> projector`` MLP (``models.ProjectionMLP``) of ``proj_layers`` layers."""

    proj_hidden_dim: int
    proj_dim: int
    proj_layers: int
    proj_last_norm: bool = False
    proj_norm: str = "batch"

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "proj_hidden_dim", "proj_dim", "proj_layers")
        self.check_choice("proj_norm", PROJECTOR_NORMS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TemperatureOptions(MethodOptions):
    """The softmax temperature of an InfoNCE-type loss (> 0)."""

    temperature: float

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("temperature")


CROSS_DEVICE = ("global", "all_gather", "ring")


@dataclasses.dataclass(frozen=True, kw_only=True)
class BatchLossOptions(MethodOptions):
    """How a batch-coupled contrastive loss is computed (not what it computes: the value and
    gradients are the same for every setting, up to float summation order).

    ``loss_block_size``: 0 (default) materializes the logits ([2B, 2B] for SimCLR); k > 0
    streams the keys in blocks of k (``losses.softmax_statistics``' blockwise form, memory
    O(B D + B k) instead of O(B^2)). ``cross_device``: "global" (default) computes the loss on
    the global batch under jit (XLA partitions it); "all_gather" or "ring" run it inside
    ``jax.shard_map`` over the mesh's batch axes, each device holding its shard of the
    embeddings, with the other devices' keys all-gathered or passed around a ring of
    ``ppermute`` steps ("ring" needs ``loss_block_size > 0``). Which values a method's loss
    honours is its ``loss_forms`` (checked at config time by ``train.build``).
    """

    loss_block_size: int = 0
    cross_device: str = "global"

    def __post_init__(self):
        super().__post_init__()
        self.check("loss_block_size",
                   lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                   "an int >= 0 (0: the naive loss)")
        self.check_choice("cross_device", CROSS_DEVICE)
        if self.cross_device == "ring" and not self.loss_block_size:
            raise ValueError("config.method.cross_device='ring' streams blocks of keys around "
                             "the devices: set config.method.loss_block_size > 0 (e.g. 1024), "
                             "or use cross_device 'all_gather' or 'global'.")

    def reject_blockwise(self, method: str, why: str) -> None:
        """For a loss without a blockwise form: fail for ``loss_block_size > 0``, saying why."""
        if self.loss_block_size:
            raise ValueError(f"config.method.loss_block_size={self.loss_block_size}: {method}'s "
                             f"loss has no blockwise form ({why}); set loss_block_size=0 "
                             f"(cross_device 'all_gather' still shards it).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimCLROptions(ProjectorOptions, TemperatureOptions, BatchLossOptions):
    """SimCLR's options: the projector, the NT-Xent temperature and how the loss is computed
    (``loss_block_size``, ``cross_device``)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class MomentumOptions(ProjectorOptions):
    """Projector plus an EMA target network (``methods.momentum``)."""

    base_momentum: float
    momentum_schedule: str = "cosine"

    def __post_init__(self):
        super().__post_init__()
        self.check("base_momentum", lambda v: 0.0 <= v <= 1.0, "an EMA momentum in [0, 1]")
        self.check_choice("momentum_schedule", MOMENTUM_SCHEDULES)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PredictorOptions(ProjectorOptions):
    """Projector plus a predictor on the projections: "mlp" (``pred_hidden_dim`` wide),
    "linear" (a trained ``[proj_dim, proj_dim]`` map) or "none" (Tian et al., 2021)."""

    pred_hidden_dim: int
    predictor: str = "mlp"

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "pred_hidden_dim")
        self.check_choice("predictor", PREDICTORS)
