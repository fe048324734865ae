"""Non-contrastive objectives on two projected views: Barlow Twins, VICReg and W-MSE.

None needs negatives, a target network or state: collapse is prevented by decorrelating or
whitening the embedding dimensions over the batch. Same encoder + projector as SimCLR (the
papers use a wide 3-layer projector: ``proj_layers=3``).

Papers: "Barlow Twins: Self-Supervised Learning via Redundancy Reduction", Zbontar et al., 2021;
"VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning", Bardes et
al., 2022; "Whitening for Self-Supervised Representation Learning", Ermolov et al., 2021.
"""

from __future__ import annotations

from contrastive_jax import losses
from contrastive_jax.methods.common import ProjectedViews


class BarlowTwins(ProjectedViews):
    """config.method: lambda_ (off-diagonal weight), proj_hidden_dim, proj_dim, proj_layers."""

    def objective(self, z, batch):
        return losses.barlow_twins(z[0], z[1], lambda_=self.config.method.lambda_), {}


class VICReg(ProjectedViews):
    """config.method: sim_weight, var_weight, cov_weight, proj_hidden_dim, proj_dim, proj_layers."""

    def objective(self, z, batch):
        method_config = self.config.method
        loss = losses.vicreg(z[0], z[1], sim_weight=method_config.sim_weight,
                             var_weight=method_config.var_weight,
                             cov_weight=method_config.cov_weight)
        return loss, {}


class WMSE(ProjectedViews):
    """config.method: eps (covariance shrinkage), proj_hidden_dim, proj_dim, proj_layers.

    The whole global batch is one whitening sub-batch (the paper splits it into sub-batches of
    ``w_size`` and repeats whitening ``w_iter`` times); whitening needs batch > proj_dim.
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        if config.batch_size <= config.method.proj_dim:
            raise ValueError(
                f"wmse whitens the {config.method.proj_dim}-dim embeddings over the batch: "
                f"config.batch_size={config.batch_size} must exceed config.method.proj_dim.")

    def objective(self, z, batch):
        return losses.wmse(z[0], z[1], eps=self.config.method.eps), {}
