"""DCL and DCLW: SimCLR with the decoupled contrastive loss.

"Decoupled Contrastive Learning", Yeh et al., 2022 (ECCV): removing the positive pair from
the InfoNCE denominator removes the negative-positive coupling that makes SimCLR depend on
large batches. DCLW additionally weights the positive term by a von Mises-Fisher weight.
Same model as SimCLR (encoder + projector); only the loss changes.
"""

from __future__ import annotations

from contrastive_jax import losses
from contrastive_jax.methods.common import ProjectedViews


class DCL(ProjectedViews):
    """config.method: temperature, proj_hidden_dim, proj_dim, proj_layers."""

    def objective(self, z, batch):
        return losses.dcl(z[0], z[1], temperature=self.config.method.temperature), {}


class DCLW(ProjectedViews):
    """config.method: temperature, sigma (vMF weight), proj_hidden_dim, proj_dim, proj_layers."""

    def objective(self, z, batch):
        method_config = self.config.method
        loss = losses.dclw(z[0], z[1], temperature=method_config.temperature,
                           sigma=method_config.sigma)
        return loss, {}
