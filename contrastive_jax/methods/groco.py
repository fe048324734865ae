"""GroCo: order every anchor's positives above its hardest negatives through a relaxed sorting
network (``losses.groco``).

"Learning by Sorting: Self-supervised Learning with Group Ordering Constraints", Shvetsova et
al., 2023 (ICCV). V >= 2 views (``config.augment.num_views``); each view is an anchor whose
positives are the example's other views.
"""

from __future__ import annotations

import dataclasses
import functools

from contrastive_jax import losses
from contrastive_jax.losses.groco import NETWORKS, RELAXATIONS
from contrastive_jax.methods.batch_loss import DENSE_FORMS, batch_loss
from contrastive_jax.methods.options import BatchLossOptions, ProjectorOptions
from contrastive_jax.methods.projected import ProjectedViews


@dataclasses.dataclass(frozen=True, kw_only=True)
class GroCoOptions(ProjectorOptions, BatchLossOptions):
    """The projector, ``num_negatives`` (k >= 1), the comparator ``steepness`` (> 0), the
    ``relaxation`` ("cauchy" or "logistic"), the ``sorting_network`` ("odd_even" or
    "bitonic"), ``stop_gradient`` on the pairs' far side (the released defaults: 10, 1.0,
    "cauchy", "odd_even", True) and ``cross_device`` ("global" or
    "all_gather"; no blockwise form)."""

    num_negatives: int = 10
    steepness: float = 1.0
    relaxation: str = "cauchy"
    sorting_network: str = "odd_even"
    stop_gradient: bool = True

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "num_negatives")
        self.check_positive("steepness")
        self.check_choice("relaxation", RELAXATIONS)
        self.check_choice("sorting_network", NETWORKS)
        self.reject_blockwise("GroCo", "its negatives are a top-k of the similarities fed "
                         "to a sorting network, not a softmax")


class GroCo(ProjectedViews):
    """Options: ``GroCoOptions``. ``L = losses.groco(z)`` on the projections ``[V, B, D]``."""

    options_type = GroCoOptions
    num_views_used = None

    @classmethod
    def loss_forms(cls, options):
        return DENSE_FORMS

    def objective(self, z, batch):
        o = self.options
        loss_fn = functools.partial(losses.groco, num_negatives=o.num_negatives,
                                    steepness=o.steepness, relaxation=o.relaxation,
                                    network=o.sorting_network,
                                    stop_gradient=o.stop_gradient)
        return batch_loss(loss_fn, (z,), options=o, batch_dim=1), {}
