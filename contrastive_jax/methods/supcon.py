"""SupCon: supervised contrastive learning with the dataset's labels.

"Supervised Contrastive Learning", Khosla et al., 2020 (NeurIPS). Every view is an anchor and
every other view of an example with the same label is a positive. Same model as SimCLR.
"""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp

from contrastive_jax import losses
from contrastive_jax.methods.batch_loss import ALL_FORMS, batch_loss
from contrastive_jax.methods.options import SimCLROptions
from contrastive_jax.methods.projected import ProjectedViews


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupConOptions(SimCLROptions):
    """SimCLR's options plus ``base_temperature`` (the loss is scaled by t / base_t)."""

    base_temperature: float

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("base_temperature")


class SupCon(ProjectedViews):
    """Options: ``SupConOptions``.

    Uses every view the augmentation makes (V >= 2) and ``batch["label"]``: int [B].
    """

    options_type = SupConOptions
    num_views_used = None
    supports_grad_cache = False  # the loss needs the labels, not only the embeddings

    @classmethod
    def loss_forms(cls, options):
        return ALL_FORMS

    def objective(self, z, batch):
        features = jnp.swapaxes(z, 0, 1)  # [B, V, D]
        loss_fn = functools.partial(losses.supcon, temperature=self.options.temperature,
                                    base_temperature=self.options.base_temperature)
        return batch_loss(loss_fn, (features, batch["label"]), options=self.options), {}
