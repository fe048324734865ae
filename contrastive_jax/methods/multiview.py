"""Multi-view contrastive learning with one loss term per example: MV-InfoNCE and MV-DHEL.

"A Principled Framework for Multi-View Contrastive Learning", Koromilas et al., 2025. V >= 2
augmented views of every example (``config.augment.num_views``) go through one encoder +
projector; the loss sees all V views at once instead of summing pairwise losses.
"""

from __future__ import annotations

from contrastive_jax import losses
from contrastive_jax.methods.common import ProjectedViews


class MVInfoNCE(ProjectedViews):
    """config.method: temperature, proj_hidden_dim, proj_dim, proj_layers."""

    num_views = None

    def objective(self, z, batch):
        return losses.multiview_info_nce(z, temperature=self.config.method.temperature), {}


class MVDHEL(ProjectedViews):
    """config.method: temperature, proj_hidden_dim, proj_dim, proj_layers."""

    num_views = None

    def objective(self, z, batch):
        return losses.mv_dhel(z, temperature=self.config.method.temperature), {}
