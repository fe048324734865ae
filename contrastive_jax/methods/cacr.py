"""CACR: contrastive attraction and contrastive repulsion on V >= 2 views (``losses.cacr``).

"Contrastive Attraction and Contrastive Repulsion for Representation Learning", Zheng et al.,
2021 (TMLR 2023). The released small-scale code draws Ny + 1 = 5 views per image; the number of
views here is ``config.augment.num_views``.
"""

from __future__ import annotations

import dataclasses
import functools

from contrastive_jax import losses
from contrastive_jax.methods.batch_loss import DENSE_FORMS, batch_loss
from contrastive_jax.methods.options import BatchLossOptions, ProjectorOptions
from contrastive_jax.methods.projected import ProjectedViews


@dataclasses.dataclass(frozen=True, kw_only=True)
class CACROptions(ProjectorOptions, BatchLossOptions):
    """The projector, CACR's weights' inverse temperatures ``tau_pos``, ``tau_neg`` and cost
    scales ``alpha``, ``beta`` (all > 0; the released defaults are 1), and ``cross_device``
    ("global" or "all_gather"; no blockwise form)."""

    tau_pos: float = 1.0
    tau_neg: float = 1.0
    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("tau_pos", "tau_neg", "alpha", "beta")
        self.reject_blockwise("CACR", "its repulsion is a softmax-weighted mean of distances, "
                         "not a log-sum-exp")


class CACR(ProjectedViews):
    """Options: ``CACROptions``. ``L = losses.cacr(z)`` on the projections ``[V, B, D]`` of all
    views (attraction over each example's own views, repulsion over the other examples)."""

    options_type = CACROptions
    num_views_used = None

    @classmethod
    def loss_forms(cls, options):
        return DENSE_FORMS

    def objective(self, z, batch):
        o = self.options
        loss_fn = functools.partial(losses.cacr, tau_pos=o.tau_pos, tau_neg=o.tau_neg,
                                    alpha=o.alpha, beta=o.beta)
        return batch_loss(loss_fn, (z,), options=o, batch_dim=1), {}
