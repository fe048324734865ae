"""Methods: views -> encoder -> heads -> loss, with explicit method state.

Every method follows ``methods.base.Method``: ``init(rng, example_batch) -> (model,
method_state)``, ``loss(model, method_state, batch, rng) -> (loss, (metrics, method_state))``
and ``embed(model, images) -> features``. Its options (the keys of ``config.method``) and their
defaults are declared once, in the frozen dataclass named by its ``options_type``
(``methods.options``); the batch size, step count, encoder config and view count come as
explicit constructor arguments. Built by name through ``contrastive_jax.registry.METHODS`` and
``contrastive_jax.train.build.build_method``.
"""

from contrastive_jax.methods.base import Method
from contrastive_jax.methods.options import MethodOptions

__all__ = ["Method", "MethodOptions"]
