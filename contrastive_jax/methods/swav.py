"""SwAV: swapped prediction of Sinkhorn cluster codes across (multi-crop) views.

"Unsupervised Learning of Visual Features by Contrasting Cluster Assignments", Caron et al.,
2020 (NeurIPS). ``encoder -> projector -> prototypes`` (K unit rows, cosine scores). The codes of
the crops in ``crops_for_assign`` (the full-resolution ones) are computed by Sinkhorn-Knopp and
predicted from every other crop's scores. Views of different sizes (``augment=multicrop``) are
forwarded once per resolution. Options of the paper:

- ``queue_size > 0``: a FIFO of past embeddings per assigned crop [A, Q, D]; once it is full its
  scores join Sinkhorn's equipartition (only the batch rows' codes are used).
- ``freeze_prototypes_steps``: no gradient reaches the prototypes during the first steps.

Prototype rows are normalized in the forward pass (``models.Prototypes``, straight-through), the
functional counterpart of the paper's in-place normalization before every step.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import Method, build_encoder
from contrastive_jax.methods.common import (
    build_projector, check_queue_size, embedding_std, forward_views, views_of)
from contrastive_jax.methods.options import ProjectorOptions, TemperatureOptions
from contrastive_jax.models import Prototypes
from contrastive_jax.models.prototypes import l2_normalize_rows


class SwAVModel(nnx.Module):
    """encoder -> projector -> unit embedding z [B, D] and prototype scores [B, K]."""

    def __init__(self, encoder, projector, prototypes):
        self.encoder = encoder
        self.projector = projector
        self.prototypes = prototypes

    def __call__(self, x, *, train: bool, frozen_prototypes=False):
        z = l2_normalize_rows(self.projector(self.encoder(x, train=train), train=train))
        weight = self.prototypes.normalized_weight()
        weight = jnp.where(frozen_prototypes, jax.lax.stop_gradient(weight), weight)
        return z, z @ weight.T


def swapped_cross_entropy(scores, codes, assign_from, *, temperature):
    """``mean_c mean_{v != c} mean_b -sum_k codes[c][b, k] log softmax(scores[v, b] / t)_k``.

    scores: [V, B, K]; codes: one [B, K] target per crop in ``assign_from``. The same objective
    as ``losses.swav`` with the codes supplied (here: computed with the queue).
    """
    log_p = jax.nn.log_softmax(scores.astype(jnp.float32) / temperature, axis=-1)
    per_crop = []
    for crop, q in zip(assign_from, codes):
        cross_entropy = -jnp.mean(jnp.sum(q[None] * log_p, axis=-1), axis=-1)  # [V]
        per_crop.append((jnp.sum(cross_entropy) - cross_entropy[crop]) / (scores.shape[0] - 1))
    return jnp.mean(jnp.stack(per_crop))


@dataclasses.dataclass(frozen=True, kw_only=True)
class SwAVOptions(ProjectorOptions, TemperatureOptions):
    """The projector's options, the temperature (the paper: 0.1) and: epsilon (Sinkhorn's
    entropy weight, 0.05), sinkhorn_iterations (3), num_prototypes (K), crops_for_assign
    (the crops whose codes are predicted, (0, 1)), queue_size (0: no queue) and
    freeze_prototypes_steps."""

    epsilon: float
    sinkhorn_iterations: int
    num_prototypes: int
    crops_for_assign: tuple[int, ...]
    queue_size: int
    freeze_prototypes_steps: int = 0

    def __post_init__(self):
        super().__post_init__()
        if self.num_prototypes < 1:
            raise ValueError(f"config.method.num_prototypes must be >= 1 (the number of SwAV "
                             f"prototypes), got {self.num_prototypes}.")
        self.check_positive("epsilon")
        self.check_at_least(1, "sinkhorn_iterations")
        self.check_at_least(0, "queue_size", "freeze_prototypes_steps")


class SwAV(Method):
    """Options: ``SwAVOptions``.

    method_state: {"step": int32 []} plus, with a queue, {"queue": [A, Q, D], "queue_count"}.
    """

    options_type = SwAVOptions
    min_views = 2

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        self.assign_from = tuple(int(c) for c in options.crops_for_assign)
        if not self.assign_from or any(not 0 <= c < self.num_views for c in self.assign_from):
            raise ValueError(f"config.method.crops_for_assign={self.assign_from} must name crops "
                             f"in [0, {self.num_views}).")
        if options.queue_size:
            check_queue_size(options.queue_size, self.batch_size)

    def init(self, rng, example_batch):
        options = self.options
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.encoder_config, self.image_shape, rngs)
        projector = build_projector(options, encoder.feature_dim, rngs)
        prototypes = Prototypes(options.proj_dim, options.num_prototypes, rngs=rngs)
        state = {"step": jnp.zeros((), jnp.int32)}
        if options.queue_size:
            shape = (len(self.assign_from), options.queue_size, options.proj_dim)
            state.update(queue=jnp.zeros(shape, jnp.float32),
                         queue_count=jnp.zeros((), jnp.int32))
        return SwAVModel(encoder, projector, prototypes), state

    def _sinkhorn(self, scores):
        return losses.sinkhorn(scores, epsilon=self.options.epsilon,
                               iterations=self.options.sinkhorn_iterations)

    def _loss_with_queue(self, model, method_state, scores, z):
        """Codes from Sinkhorn over [queue; batch] once the queue is full; returns
        ``(loss, new queue entries)``."""
        queue = method_state["queue"]
        full = method_state["queue_count"] >= queue.shape[1]
        weight = jax.lax.stop_gradient(model.prototypes.normalized_weight())
        codes = []
        for position, crop in enumerate(self.assign_from):
            with_queue = self._sinkhorn(jnp.concatenate([queue[position] @ weight.T,
                                                         scores[crop]]))[queue.shape[1]:]
            codes.append(jnp.where(full, with_queue, self._sinkhorn(scores[crop])))
        loss = swapped_cross_entropy(scores, codes, self.assign_from,
                                     temperature=self.options.temperature)
        new_rows = jnp.stack([z[crop] for crop in self.assign_from])  # [A, B, D]
        size = queue.shape[1]
        queue = jnp.concatenate([jax.lax.stop_gradient(new_rows), queue], axis=1)[:, :size]
        count = jnp.minimum(method_state["queue_count"] + new_rows.shape[1], queue.shape[1])
        return loss, {"queue": queue, "queue_count": count}

    def loss(self, model, method_state, batch, rng):
        options = self.options
        frozen = method_state["step"] < options.freeze_prototypes_steps
        outputs = forward_views(lambda x: model(x, train=True, frozen_prototypes=frozen),
                                views_of(self, batch, rng))
        z = jnp.stack([out[0] for out in outputs])          # [V, B, D]
        scores = jnp.stack([out[1] for out in outputs])     # [V, B, K]
        updates = {}
        if options.queue_size:
            loss, updates = self._loss_with_queue(model, method_state, scores, z)
        else:
            loss = losses.swav(scores, self.assign_from, temperature=options.temperature,
                               epsilon=options.epsilon, iterations=options.sinkhorn_iterations)
        metrics = {"loss": loss, "embedding_std": embedding_std(z[0])}
        return loss, (metrics, {**method_state, **updates, "step": method_state["step"] + 1})
