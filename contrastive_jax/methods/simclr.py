"""SimCLR: two augmented views, a shared encoder and projector, and the NT-Xent loss.

A Simple Framework for Contrastive Learning of Visual Representations (Chen et al., 2020).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.batch_loss import ALL_FORMS, batch_loss
from contrastive_jax.methods.common import embedding_std
from contrastive_jax.methods.options import SimCLROptions
from contrastive_jax.methods.projected import ProjectedViews


class SimCLR(ProjectedViews):
    """Options: ``SimCLROptions`` (temperature, proj_hidden_dim, proj_dim, proj_layers, ...).

    ``L = nt_xent(z1, z2; temperature)`` on the projections ``[2B, D]`` of the first two views.
    ``loss`` splits the embeddings in halves rather than by view-major reshape, the form every
    published SimCLR run used (the two agree up to float summation order in the gradient).
    """

    options_type = SimCLROptions

    @classmethod
    def loss_forms(cls, options):
        return ALL_FORMS

    def nt_xent(self, z1, z2):
        """NT-Xent of ``[B, D]`` views as ``loss_block_size`` / ``cross_device`` ask."""
        loss_fn = functools.partial(losses.nt_xent, temperature=self.options.temperature)
        return batch_loss(loss_fn, (z1, z2), options=self.options)

    def objective(self, z, batch):
        return self.nt_xent(z[0], z[1]), {}

    def loss_from_embeddings(self, embeddings):
        return self.nt_xent(*jnp.split(embeddings, 2))

    def loss(self, model, method_state, batch, rng):
        z = self.embed_for_loss(model, self.encoder_inputs(batch, rng))
        loss = self.loss_from_embeddings(z)
        return loss, ({"loss": loss, "embedding_std": embedding_std(z)}, method_state)
