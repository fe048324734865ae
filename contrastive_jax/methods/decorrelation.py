"""Non-contrastive objectives on two projected views: Barlow Twins, VICReg and W-MSE.

None needs negatives, a target network or state: collapse is prevented by decorrelating or
whitening the embedding dimensions over the batch. Same encoder + projector as SimCLR (the
papers use a wide 3-layer projector: ``proj_layers=3``).

Papers: "Barlow Twins: Self-Supervised Learning via Redundancy Reduction", Zbontar et al., 2021;
"VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning", Bardes et
al., 2022; "Whitening for Self-Supervised Representation Learning", Ermolov et al., 2021.
"""

from __future__ import annotations

import dataclasses

from contrastive_jax import losses
from contrastive_jax.methods.options import ProjectorOptions
from contrastive_jax.methods.projected import ProjectedViews


@dataclasses.dataclass(frozen=True, kw_only=True)
class BarlowTwinsOptions(ProjectorOptions):
    """Projector plus ``lambda_``, the weight of the off-diagonal (redundancy) term."""

    lambda_: float

    def __post_init__(self):
        super().__post_init__()
        self.check("lambda_", lambda v: v >= 0, ">= 0")


@dataclasses.dataclass(frozen=True, kw_only=True)
class VICRegOptions(ProjectorOptions):
    """Projector plus the weights of the invariance, variance and covariance terms."""

    sim_weight: float
    var_weight: float
    cov_weight: float

    def __post_init__(self):
        super().__post_init__()
        for name in ("sim_weight", "var_weight", "cov_weight"):
            self.check(name, lambda v: v >= 0, ">= 0")


@dataclasses.dataclass(frozen=True, kw_only=True)
class WMSEOptions(ProjectorOptions):
    """Projector plus ``eps``, the shrinkage added to the covariance before whitening."""

    eps: float

    def __post_init__(self):
        super().__post_init__()
        self.check("eps", lambda v: v >= 0, ">= 0")


class BarlowTwins(ProjectedViews):
    """Options: ``BarlowTwinsOptions``."""

    options_type = BarlowTwinsOptions

    def objective(self, z, batch):
        return losses.barlow_twins(z[0], z[1], lambda_=self.options.lambda_), {}


class VICReg(ProjectedViews):
    """Options: ``VICRegOptions``."""

    options_type = VICRegOptions

    def objective(self, z, batch):
        options = self.options
        loss = losses.vicreg(z[0], z[1], sim_weight=options.sim_weight,
                             var_weight=options.var_weight, cov_weight=options.cov_weight)
        return loss, {}


class WMSE(ProjectedViews):
    """Options: ``WMSEOptions``.

    The whole global batch is one whitening sub-batch (the paper splits it into sub-batches of
    ``w_size`` and repeats whitening ``w_iter`` times); whitening needs batch > proj_dim.
    """

    options_type = WMSEOptions

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        if self.batch_size <= options.proj_dim:
            raise ValueError(
                f"wmse whitens the {options.proj_dim}-dim embeddings over the batch: "
                f"config.batch_size={self.batch_size} must exceed config.method.proj_dim.")

    def objective(self, z, batch):
        return losses.wmse(z[0], z[1], eps=self.options.eps), {}
