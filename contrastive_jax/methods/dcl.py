"""DCL and DCLW: SimCLR with the decoupled contrastive loss.

"Decoupled Contrastive Learning", Yeh et al., 2022 (ECCV): removing the positive pair from
the InfoNCE denominator removes the negative-positive coupling that makes SimCLR depend on
large batches. DCLW additionally weights the positive term by a von Mises-Fisher weight.
Same model as SimCLR (encoder + projector); only the loss changes.
"""

from __future__ import annotations

import dataclasses
import functools

from contrastive_jax import losses
from contrastive_jax.methods.batch_loss import ALL_FORMS, batch_loss
from contrastive_jax.methods.options import SimCLROptions
from contrastive_jax.methods.projected import ProjectedViews


@dataclasses.dataclass(frozen=True, kw_only=True)
class DCLWOptions(SimCLROptions):
    """SimCLR's options plus ``sigma``, the width of the von Mises-Fisher weight."""

    sigma: float

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("sigma")


class DCL(ProjectedViews):
    """Options: ``SimCLROptions`` (temperature, proj_hidden_dim, proj_dim, proj_layers, ...)."""

    options_type = SimCLROptions

    @classmethod
    def loss_forms(cls, options):
        return ALL_FORMS

    def objective(self, z, batch):
        loss_fn = functools.partial(losses.dcl, temperature=self.options.temperature)
        return batch_loss(loss_fn, (z[0], z[1]), options=self.options), {}


class DCLW(ProjectedViews):
    """Options: ``DCLWOptions`` (SimCLR's plus sigma)."""

    options_type = DCLWOptions

    @classmethod
    def loss_forms(cls, options):
        return ALL_FORMS

    def objective(self, z, batch):
        loss_fn = functools.partial(losses.dclw, temperature=self.options.temperature,
                                    sigma=self.options.sigma)
        return batch_loss(loss_fn, (z[0], z[1]), options=self.options), {}
