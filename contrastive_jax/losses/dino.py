"""DINO: cross-entropy between a centered, sharpened teacher softmax and the student softmax,
and the EMA update of the center."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def dino(student: jax.Array, teacher: jax.Array, center: jax.Array, *,
         student_temperature: float = 0.1, teacher_temperature: float = 0.04,
         axis_name: str | None = None) -> jax.Array:
    """Self-distillation loss of DINO over every (teacher view, other student view) pair.

    ``P_t^g = softmax((t_g - c) / tau_t)`` (stop-gradient), ``log P_s^v = log_softmax(s_v /
    tau_s)``; ``L = mean_{(g, v): v != g} mean_b [ -sum_k P_t^g[b, k] log P_s^v[b, k] ]`` over
    the G teacher views (the global crops, student views 0..G-1 are the same crops) and the V
    student views; a view is never its own target.

    Args:
      student: [V, B, K] the student's head outputs for every view (global crops first).
      teacher: [G, B, K] the teacher's head outputs for the G global crops (G <= V).
      center: [K] the running center of the teacher outputs (``dino_center``).
      student_temperature: tau_s (default 0.1).
      teacher_temperature: tau_t (default 0.04, the official code's; it may follow a warmup
        schedule, see ``methods.dino``).
      axis_name: mesh axis inside ``jax.shard_map`` when the batch is split over devices: the
        mean is over the global batch. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the pairs and the (global) batch.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> student = jnp.array([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]])  # [V=2, B=1, K=3]
      >>> teacher = jnp.array([[[0.1, 0.0, 0.0]], [[0.0, 0.1, 0.0]]])  # [G=2, B=1, K=3]
      >>> print(f"{float(losses.dino(student, teacher, jnp.zeros(3))):.4f}")
      9.2950

    Paper: "Emerging Properties in Self-Supervised Vision Transformers", Caron et al., 2021
    (ICCV); defaults from the official code (facebookresearch/dino ``DINOLoss``).
    """
    num_views, num_teacher = student.shape[0], teacher.shape[0]
    if num_teacher > num_views or num_views < 2:
        raise ValueError(f"dino: {num_teacher} teacher views for {num_views} student views; "
                         f"needs 2 <= V and G <= V.")
    targets = jax.nn.softmax((_common.upcast(teacher) - center) / teacher_temperature, axis=-1)
    targets = jax.lax.stop_gradient(targets)
    log_p = jax.nn.log_softmax(_common.upcast(student) / student_temperature, axis=-1)
    cross = -jnp.einsum("gbk,vbk->gvb", targets, log_p)  # [G, V, b]
    mean_over_batch = _common.global_mean(jnp.mean(cross, axis=-1), axis_name)  # [G, V]
    keep = jnp.arange(num_teacher)[:, None] != jnp.arange(num_views)[None, :]
    return jnp.sum(jnp.where(keep, mean_over_batch, 0.0)) / jnp.sum(keep)


def dino_center(teacher: jax.Array, center: jax.Array, *, momentum: float = 0.9,
                axis_name: str | None = None) -> jax.Array:
    """The center's EMA update: ``c <- m c + (1 - m) mean_{g, b} t_g[b]``.

    Args:
      teacher: [G, B, K] the teacher's outputs of this step (all global crops).
      center: [K] the current center.
      momentum: m (default 0.9).
      axis_name: mesh axis inside ``jax.shard_map``: the mean is over the global batch (the
        official code's all-reduce). None (default): one device.

    Returns:
      [K] float32 new center (stop-gradient).

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> teacher = jnp.array([[[1.0, 3.0]], [[3.0, 1.0]]])  # [G=2, B=1, K=2]
      >>> print(losses.dino_center(teacher, jnp.zeros(2)))
      [0.2 0.2]

    Paper: "Emerging Properties in Self-Supervised Vision Transformers", Caron et al., 2021.
    """
    batch_mean = _common.global_mean(jnp.mean(_common.upcast(teacher), axis=(0, 1)), axis_name)
    return jax.lax.stop_gradient(momentum * center + (1.0 - momentum) * batch_mean)
