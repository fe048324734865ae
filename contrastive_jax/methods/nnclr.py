"""NNCLR: the positive of a view is the nearest neighbour of its other view in a support set.

"With a Little Help from My Friends: Nearest-Neighbor Contrastive Learning of Visual
Representations", Dwibedi et al., 2021 (ICCV). ``L = 1/2 [InfoNCE(NN(z1), p2) +
InfoNCE(NN(z2), p1)]`` with ``NN(z)`` the support-set row most cosine-similar to z (a constant:
no gradient), ``p = predictor(z)`` and in-batch negatives. The support set is a FIFO queue of
the unit projections of view 1 ([Q, D], random unit rows at the start).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.base import Method
from contrastive_jax.methods.common import (
    build_projected_model, check_queue_size, embedding_std, enqueue, init_queue, views_of)
from contrastive_jax.methods.options import ProjectorOptions, TemperatureOptions


@dataclasses.dataclass(frozen=True, kw_only=True)
class NNCLROptions(ProjectorOptions, TemperatureOptions):
    """The projector's options, the temperature, ``queue_size`` (the support set, a multiple
    of the global batch) and the MLP predictor's ``pred_hidden_dim``."""

    queue_size: int
    pred_hidden_dim: int

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "queue_size", "pred_hidden_dim")


def _unit(x: jax.Array) -> jax.Array:
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True).clip(1e-12)


def nearest_neighbours(z: jax.Array, support: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(rows of support [B, D] most cosine-similar to each z [B, D], their cosines [B])``;
    both stop-gradient. support: [Q, D] unit rows."""
    similarity = jax.lax.stop_gradient(_unit(z)) @ support.T
    index = jnp.argmax(similarity, axis=1)
    return (jax.lax.stop_gradient(support[index]),
            jax.lax.stop_gradient(jnp.take_along_axis(similarity, index[:, None], 1)[:, 0]))


class NNCLR(Method):
    """Options: ``NNCLROptions`` (the paper: temperature 0.1).

    method_state: {"support": [Q, D] unit rows, "pointer": int32 []}.
    """

    options_type = NNCLROptions
    min_views = 2

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        check_queue_size(options.queue_size, self.batch_size)

    def init(self, rng, example_batch):
        model_rng, queue_rng = jax.random.split(rng)
        model = build_projected_model(self.options, self.encoder_config, self.image_shape,
                                      model_rng, predictor="mlp")
        state = {"support": init_queue(queue_rng, self.options.queue_size,
                                       self.options.proj_dim),
                 "pointer": jnp.zeros((), jnp.int32)}
        return model, state

    def loss(self, model, method_state, batch, rng):
        _, z = model(jnp.concatenate(views_of(self, batch, rng, 2)), train=True)
        p1, p2 = jnp.split(model.predictor(z, train=True), 2)
        z1, z2 = jnp.split(z, 2)
        support = method_state["support"]
        nn1, similarity1 = nearest_neighbours(z1, support)
        nn2, _ = nearest_neighbours(z2, support)
        temperature = self.options.temperature
        loss = 0.5 * (losses.info_nce(nn1, p2, temperature=temperature)
                      + losses.info_nce(nn2, p1, temperature=temperature))
        support, pointer = enqueue(support, method_state["pointer"], _unit(z1))
        metrics = {"loss": loss, "embedding_std": embedding_std(z),
                   "nn_similarity": jnp.mean(similarity1)}
        return loss, (metrics, {"support": support, "pointer": pointer})
