"""Optimizers and learning-rate schedules built from ``config.optimizer``."""

from __future__ import annotations

import math

import jax
import ml_collections
import optax

OPTIMIZERS = ("adamw", "sgd", "lars")


def learning_rate_schedule(opt_config: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
    """Linear warmup to ``learning_rate`` over ``warmup_steps``, then cosine decay to
    ``learning_rate * final_lr_fraction`` at ``total_steps``."""
    peak = float(opt_config.learning_rate)
    if not math.isfinite(peak) or peak <= 0:
        raise ValueError(f"optimizer.learning_rate must be a finite positive number, got {peak}.")
    warmup = int(opt_config.warmup_steps)
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=peak, warmup_steps=max(warmup, 0),
        decay_steps=max(total_steps, warmup + 1),
        end_value=peak * float(opt_config.get("final_lr_fraction", 0.0)))


def decay_mask(params):
    """True for weight matrices and kernels (ndim >= 2), False for biases, norm scales and
    scalars such as CLIP's logit scale and SigLIP's bias, which are not weight-decayed (as in
    CLIP, SimCLR's LARS and BYOL)."""
    return jax.tree.map(lambda leaf: leaf.ndim >= 2, params)


def make_optimizer(opt_config: ml_collections.ConfigDict, total_steps: int):
    """``(optax.GradientTransformation, schedule)`` for ``opt_config.name`` in OPTIMIZERS.

    Weight decay applies to ``decay_mask`` leaves only; ``optimizer.decay_all=True`` decays
    every parameter. AdamW reads optional ``b1`` / ``b2`` / ``eps`` (optax's 0.9 / 0.999 /
    1e-8 when absent; CLIP uses b2=0.98, eps=1e-6).
    """
    schedule = learning_rate_schedule(opt_config, total_steps)
    name = opt_config.name
    weight_decay = float(opt_config.get("weight_decay", 0.0))
    mask = None if opt_config.get("decay_all", False) else decay_mask
    if name == "adamw":
        tx = optax.adamw(schedule, b1=float(opt_config.get("b1", 0.9)),
                         b2=float(opt_config.get("b2", 0.999)),
                         eps=float(opt_config.get("eps", 1e-8)), weight_decay=weight_decay,
                         mask=mask)
    elif name == "sgd":
        tx = optax.chain(optax.add_decayed_weights(weight_decay, mask=mask),
                         optax.sgd(schedule, momentum=float(opt_config.get("momentum", 0.9))))
    elif name == "lars":
        tx = optax.lars(schedule, weight_decay=weight_decay, weight_decay_mask=mask or True,
                        trust_ratio_mask=mask or True,
                        momentum=float(opt_config.get("momentum", 0.9)))
    else:
        raise ValueError(f"Unknown optimizer {name!r}. Valid optimizer names: {', '.join(OPTIMIZERS)}.")
    clip = opt_config.get("grad_clip_norm", None)
    if clip:
        tx = optax.chain(optax.clip_by_global_norm(float(clip)), tx)
    return tx, schedule
