"""DINO: self-distillation with no labels, from a centered, sharpened EMA teacher.

"Emerging Properties in Self-Supervised Vision Transformers", Caron et al., 2021 (ICCV). The
student ``encoder -> DINOHead`` (MLP, L2 normalization, weight-normalized K-way layer) sees
every view (multi-crop: the global crops first, then the local ones, forwarded once per
resolution); the teacher, an EMA of the whole student, sees the global crops only. The loss
(``losses.dino``) is the cross-entropy from each teacher view's centered, sharpened softmax to
the student's softmax of every other view. Method state:

- ``target``: the teacher's weights (EMA of the student, momentum from ``base_momentum`` to 1
  on a cosine schedule over the run, as ``methods.momentum``; updated before use, see there);
- ``center``: float32 [K], ``c <- m c + (1 - m) mean(teacher outputs)`` after the loss;
- ``step``: int32, for the schedules.

The teacher temperature warms up linearly from ``warmup_teacher_temperature`` to
``teacher_temperature`` over ``warmup_teacher_temperature_steps`` (the official per-epoch
``np.linspace`` schedule, counted in steps); the official defaults are 0.04, 0.04 and no warmup
(the paper's ViT-S recipe: 0.04 to 0.07 over 30 epochs). ``freeze_last_layer_steps``: no
gradient reaches the last layer during the first steps (the official code cancels its
gradients for the first epoch).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import Method, build_encoder
from contrastive_jax.methods.common import (
    cosine_momentum, ema, embedding_std, forward_views, param_arrays, views_of, with_params)
from contrastive_jax.methods.options import MOMENTUM_SCHEDULES, PROJECTOR_NORMS, MethodOptions
from contrastive_jax.models.dino_head import DINOHead


class DINOModel(nnx.Module):
    """``encoder`` (the representation) -> ``head`` (K logits)."""

    def __init__(self, encoder: nnx.Module, head: DINOHead):
        self.encoder = encoder
        self.head = head

    def __call__(self, x, *, train: bool, frozen_last_layer=False):
        return self.head(self.encoder(x, train=train), train=train,
                         frozen_last_layer=frozen_last_layer)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DINOOptions(MethodOptions):
    """The head (``proj_hidden_dim`` 2048, bottleneck ``proj_dim`` 256, ``proj_layers`` 3,
    ``proj_norm`` "none", ``out_dim`` K 65536, ``norm_last_layer`` True), the teacher EMA
    (``base_momentum`` 0.996, ``momentum_schedule`` "cosine"), the temperatures
    (``student_temperature`` 0.1, ``teacher_temperature`` 0.04, ``warmup_teacher_temperature``
    0.04 over ``warmup_teacher_temperature_steps`` 0), ``center_momentum`` 0.9 and
    ``freeze_last_layer_steps`` 0: the official code's defaults."""

    proj_hidden_dim: int = 2048
    proj_dim: int = 256
    proj_layers: int = 3
    proj_norm: str = "none"
    out_dim: int = 65536
    norm_last_layer: bool = True
    base_momentum: float = 0.996
    momentum_schedule: str = "cosine"
    student_temperature: float = 0.1
    teacher_temperature: float = 0.04
    warmup_teacher_temperature: float = 0.04
    warmup_teacher_temperature_steps: int = 0
    center_momentum: float = 0.9
    freeze_last_layer_steps: int = 0

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "proj_hidden_dim", "proj_dim", "proj_layers", "out_dim")
        self.check_choice("proj_norm", PROJECTOR_NORMS)
        self.check_choice("momentum_schedule", MOMENTUM_SCHEDULES)
        self.check("base_momentum", lambda v: 0 <= v <= 1, "in [0, 1]")
        self.check("center_momentum", lambda v: 0 <= v <= 1, "in [0, 1]")
        self.check_positive("student_temperature", "teacher_temperature",
                            "warmup_teacher_temperature")
        self.check_at_least(0, "warmup_teacher_temperature_steps", "freeze_last_layer_steps")


def teacher_temperature(step: jax.Array, *, start: float, end: float,
                        warmup_steps: int) -> jax.Array:
    """``np.linspace(start, end, warmup_steps)[step]`` during the warmup, ``end`` after."""
    progress = step / max(warmup_steps - 1, 1)
    warm = start + (end - start) * jnp.minimum(progress, 1.0)
    return jnp.where(step < warmup_steps, warm, end).astype(jnp.float32)


class DINO(Method):
    """Options: ``DINOOptions``. method_state: ``{"target", "center": [K], "step"}``.

    The teacher's views are the first ``make_views.num_global`` (multi-crop), or the first two
    views of an augmentation without local crops.
    """

    options_type = DINOOptions
    min_views = 2

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        self.num_global = int(getattr(self.make_views, "num_global", 2))
        if not 1 <= self.num_global <= self.num_views:
            raise ValueError(f"method {self.name!r}: {self.num_global} global crops for "
                             f"{self.num_views} views.")

    def init(self, rng, example_batch):
        o = self.options
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.encoder_config, self.image_shape, rngs)
        head = DINOHead(encoder.feature_dim, out_dim=o.out_dim, hidden_dim=o.proj_hidden_dim,
                        bottleneck_dim=o.proj_dim, num_layers=o.proj_layers, norm=o.proj_norm,
                        norm_last_layer=o.norm_last_layer, rngs=rngs)
        model = DINOModel(encoder, head)
        state = {"target": param_arrays(model), "center": jnp.zeros((o.out_dim,), jnp.float32),
                 "step": jnp.zeros((), jnp.int32)}
        return model, state

    def momentum(self, step: jax.Array) -> jax.Array:
        if self.options.momentum_schedule == "constant":
            return jnp.asarray(self.options.base_momentum, jnp.float32)
        return cosine_momentum(step, self.total_steps, self.options.base_momentum)

    def teacher_temperature(self, step: jax.Array) -> jax.Array:
        o = self.options
        return teacher_temperature(step, start=o.warmup_teacher_temperature,
                                   end=o.teacher_temperature,
                                   warmup_steps=o.warmup_teacher_temperature_steps)

    def loss(self, model, method_state, batch, rng):
        o = self.options
        step = method_state["step"]
        frozen = step < o.freeze_last_layer_steps
        views = views_of(self, batch, rng)
        student = jnp.stack(forward_views(
            lambda x: model(x, train=True, frozen_last_layer=frozen), views))  # [V, B, K]
        momentum = self.momentum(step)
        target = ema(method_state["target"], param_arrays(model), momentum)
        # The teacher in train mode (BatchNorm on batch statistics, as the student); its own
        # running statistics are discarded.
        teacher = with_params(model, target)(jnp.concatenate(views[:self.num_global]),
                                             train=True)
        teacher = jax.lax.stop_gradient(teacher).reshape(self.num_global, -1, o.out_dim)
        temperature = self.teacher_temperature(step)
        loss = losses.dino(student, teacher, method_state["center"],
                           student_temperature=o.student_temperature,
                           teacher_temperature=temperature)
        center = losses.dino_center(teacher, method_state["center"], momentum=o.center_momentum)
        metrics = {"loss": loss, "momentum": momentum, "teacher_temperature": temperature,
                   "embedding_std": embedding_std(student[0])}
        return loss, (metrics, {"target": target, "center": center, "step": step + 1})

    def embed_projection(self, model, images):
        """The head's bottleneck (before the L2 normalization) on ``embed``'s features."""
        return model.head.project(self.embed(model, images), train=False)
