"""The family of methods that apply an objective to the projections of V views.

``encoder -> projector`` on every view, then a subclass's ``objective(z: [V, B, D], batch)``:
SimCLR, DCL/DCLW, SupCon, Barlow Twins, VICReg, W-MSE, MV-InfoNCE and MV-DHEL.
"""

from __future__ import annotations

import abc

import jax
import jax.numpy as jnp

from contrastive_jax.methods.base import Method
from contrastive_jax.methods.common import build_projected_model, embedding_std, views_of
from contrastive_jax.methods.options import ProjectorOptions


class ProjectedViews(Method):
    """An encoder + projector with an objective on the projected views.

    Subclasses set ``options_type``, ``num_views_used`` (None: every view the augmentation
    makes) and implement ``objective(z: [V, B, D], batch) -> (loss, metrics)``. All views go
    through one forward pass (BatchNorm statistics span the V*B views), so they must share one
    shape. Objectives that need nothing from ``batch`` support GradCache
    (``loss_from_embeddings`` passes ``batch=None``); those that read it (labels) set
    ``supports_grad_cache = False``.
    """

    options_type = ProjectorOptions
    min_views = 2
    num_views_used: int | None = 2
    supports_grad_cache = True

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        self.view_count = self.num_views if self.num_views_used is None else self.num_views_used

    @abc.abstractmethod
    def objective(self, z: jax.Array, batch: dict | None):
        """``z: [V, B, D]`` projected views -> ``(loss, metrics)``; each subclass's loss."""

    def init(self, rng, example_batch):
        return build_projected_model(self.options, self.encoder_config, self.image_shape,
                                     rng), {}

    def encoder_inputs(self, batch, rng):
        """The V views stacked view-major: ``[V * B, H, W, C]``."""
        views = views_of(self, batch, rng, self.num_views_used)
        if len({v.shape for v in views}) > 1:
            raise ValueError(f"method {self.name!r} needs views of one shape, got "
                             f"{[v.shape for v in views]}; use an augmentation without "
                             f"multi-resolution crops.")
        return jnp.concatenate(views)

    def embed_for_loss(self, model, inputs):
        return model(inputs, train=True)[1]

    def loss_from_embeddings(self, embeddings):
        return self.objective(self._by_view(embeddings), None)[0]

    def _by_view(self, embeddings: jax.Array) -> jax.Array:
        return embeddings.reshape(self.view_count, -1, embeddings.shape[-1])

    def loss(self, model, method_state, batch, rng):
        z = self._by_view(self.embed_for_loss(model, self.encoder_inputs(batch, rng)))
        loss, metrics = self.objective(z, batch)
        metrics = {"loss": loss, "embedding_std": embedding_std(z.reshape(-1, z.shape[-1])),
                   **metrics}
        return loss, (metrics, method_state)
