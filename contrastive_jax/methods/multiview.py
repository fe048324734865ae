"""Multi-view contrastive learning with one loss term per example: MV-InfoNCE and MV-DHEL.

"A Principled Framework for Multi-View Contrastive Learning", Koromilas et al., 2025. V >= 2
augmented views of every example (``config.augment.num_views``) go through one encoder +
projector; the loss sees all V views at once instead of summing pairwise losses.
"""

from __future__ import annotations

import dataclasses
import functools

from contrastive_jax import losses
from contrastive_jax.methods.batch_loss import ALL_FORMS, DENSE_FORMS, batch_loss
from contrastive_jax.methods.options import SimCLROptions
from contrastive_jax.methods.projected import ProjectedViews

AGGREGATIONS = ("joint", "pairwise")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MVInfoNCEOptions(SimCLROptions):
    """SimCLR's options plus ``aggregation``: "joint" (MV-InfoNCE) or "pairwise"."""

    aggregation: str = "joint"

    def __post_init__(self):
        super().__post_init__()
        self.check_choice("aggregation", AGGREGATIONS)


def pairwise_nt_xent(z, *, temperature: float, **kwargs):
    """The baseline MV-InfoNCE replaces: the mean over the V(V-1)/2 view pairs (l < l') of
    NT-Xent(z_l, z_l'). z: [V, B, D] -> scalar; V = 2 is NT-Xent itself. ``kwargs``
    (axis_name, block_size, cross_device) go to every ``nt_xent``."""
    num_views = z.shape[0]
    terms = [losses.nt_xent(z[l], z[m], temperature=temperature, **kwargs)
             for l in range(num_views) for m in range(l + 1, num_views)]
    return sum(terms) / len(terms)


class MVInfoNCE(ProjectedViews):
    """Options: ``MVInfoNCEOptions``; aggregation "joint" is MV-InfoNCE (the default),
    "pairwise" is ``pairwise_nt_xent``, the average of pairwise InfoNCE terms over the same
    views (the paper's baseline)."""

    options_type = MVInfoNCEOptions
    num_views_used = None

    @classmethod
    def loss_forms(cls, options):
        """Pairwise: NT-Xent's forms; joint: dense only (global or all-gathered keys)."""
        return ALL_FORMS if options.aggregation == "pairwise" else DENSE_FORMS

    def objective(self, z, batch):
        temperature = self.options.temperature
        loss_fn = (pairwise_nt_xent if self.options.aggregation == "pairwise"
                   else losses.multiview_info_nce)
        loss_fn = functools.partial(loss_fn, temperature=temperature)
        return batch_loss(loss_fn, (z,), options=self.options, batch_dim=1), {}


class MVDHEL(ProjectedViews):
    """Options: ``SimCLROptions`` (temperature, proj_hidden_dim, proj_dim, proj_layers, ...)."""

    options_type = SimCLROptions
    num_views_used = None

    @classmethod
    def loss_forms(cls, options):
        return DENSE_FORMS

    def objective(self, z, batch):
        loss_fn = functools.partial(losses.mv_dhel, temperature=self.options.temperature)
        return batch_loss(loss_fn, (z,), options=self.options, batch_dim=1), {}
