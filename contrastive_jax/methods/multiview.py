"""Multi-view contrastive learning with one loss term per example: MV-InfoNCE and MV-DHEL.

"A Principled Framework for Multi-View Contrastive Learning", Koromilas et al., 2025. V >= 2
augmented views of every example (``config.augment.num_views``) go through one encoder +
projector; the loss sees all V views at once instead of summing pairwise losses.
"""

from __future__ import annotations

from contrastive_jax import losses
from contrastive_jax.methods.common import ProjectedViews


AGGREGATIONS = ("joint", "pairwise")


def pairwise_nt_xent(z, *, temperature: float):
    """The baseline MV-InfoNCE replaces: the mean over the V(V-1)/2 view pairs (l < l') of
    NT-Xent(z_l, z_l'). z: [V, B, D] -> scalar; V = 2 is NT-Xent itself."""
    num_views = z.shape[0]
    terms = [losses.nt_xent(z[l], z[m], temperature=temperature)
             for l in range(num_views) for m in range(l + 1, num_views)]
    return sum(terms) / len(terms)


class MVInfoNCE(ProjectedViews):
    """config.method: temperature, proj_hidden_dim, proj_dim, proj_layers, aggregation
    ("joint": MV-InfoNCE, the default; "pairwise": ``pairwise_nt_xent``, the average of
    pairwise InfoNCE terms over the same views, the paper's baseline)."""

    num_views = None

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        if config.method.get("aggregation", "joint") not in AGGREGATIONS:
            raise ValueError(f"config.method.aggregation must be one of {AGGREGATIONS}, got "
                             f"{config.method.aggregation!r}.")

    def objective(self, z, batch):
        temperature = self.config.method.temperature
        if self.config.method.get("aggregation", "joint") == "pairwise":
            return pairwise_nt_xent(z, temperature=temperature), {}
        return losses.multiview_info_nce(z, temperature=temperature), {}


class MVDHEL(ProjectedViews):
    """config.method: temperature, proj_hidden_dim, proj_dim, proj_layers."""

    num_views = None

    def objective(self, z, batch):
        return losses.mv_dhel(z, temperature=self.config.method.temperature), {}
