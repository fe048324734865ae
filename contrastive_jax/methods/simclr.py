"""SimCLR: two augmented views, a shared encoder and projector, and the NT-Xent loss.

A Simple Framework for Contrastive Learning of Visual Representations (Chen et al., 2020).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import Method, build_encoder, center_pixels, images_to_unit_range
from contrastive_jax.models import ProjectionMLP


class EncoderWithProjector(nnx.Module):
    """``encoder`` (the representation) followed by ``projector`` (where the loss is applied)."""

    def __init__(self, encoder: nnx.Module, projector: nnx.Module):
        self.encoder = encoder
        self.projector = projector

    def __call__(self, x: jax.Array, *, train: bool) -> tuple[jax.Array, jax.Array]:
        features = self.encoder(x, train=train)
        return features, self.projector(features, train=train)


def embedding_std(z: jax.Array) -> jax.Array:
    """Mean per-dimension std of L2-normalized embeddings: ~1/sqrt(D) healthy, 0 collapsed."""
    z = z / jnp.linalg.norm(z, axis=-1, keepdims=True).clip(1e-12)
    return z.std(axis=0).mean()


class SimCLR(Method):
    """config.method: temperature, proj_hidden_dim, proj_dim, proj_layers."""

    def init(self, rng, example_batch):
        method_config = self.config.method
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.config.encoder, self.image_shape, rngs)
        projector = ProjectionMLP(
            encoder.feature_dim, hidden_dim=method_config.proj_hidden_dim,
            out_dim=method_config.proj_dim, num_layers=method_config.proj_layers,
            norm=method_config.get("proj_norm", "batch"), rngs=rngs)
        return EncoderWithProjector(encoder, projector), {}

    def loss(self, model, method_state, batch, rng):
        z = self.embed_for_loss(model, self.encoder_inputs(batch, rng))
        loss = self.loss_from_embeddings(z)
        return loss, ({"loss": loss, "embedding_std": embedding_std(z)}, method_state)

    supports_grad_cache = True

    def encoder_inputs(self, batch, rng):
        """Both views stacked, ``[2B, H, W, C]``: one forward pass, so BatchNorm statistics span
        the 2B views."""
        view1, view2 = self.make_views(rng, images_to_unit_range(batch["image"]))[:2]
        return center_pixels(jnp.concatenate([view1, view2]))

    def embed_for_loss(self, model, inputs):
        return model(inputs, train=True)[1]

    def loss_from_embeddings(self, embeddings):
        z1, z2 = jnp.split(embeddings, 2)
        return losses.nt_xent(z1, z2, temperature=self.config.method.temperature)
