"""SupCon: supervised contrastive learning with the dataset's labels.

"Supervised Contrastive Learning", Khosla et al., 2020 (NeurIPS). Every view is an anchor and
every other view of an example with the same label is a positive. Same model as SimCLR.
"""

from __future__ import annotations

import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.common import ProjectedViews


class SupCon(ProjectedViews):
    """config.method: temperature, base_temperature, proj_hidden_dim, proj_dim, proj_layers.

    Uses every view the augmentation makes (V >= 2) and ``batch["label"]``: int [B].
    """

    num_views = None
    supports_grad_cache = False  # the loss needs the labels, not only the embeddings

    def objective(self, z, batch):
        method_config = self.config.method
        features = jnp.swapaxes(z, 0, 1)  # [B, V, D]
        loss = losses.supcon(features, batch["label"], temperature=method_config.temperature,
                             base_temperature=method_config.base_temperature)
        return loss, {}
