"""Methods: views -> encoder -> heads -> loss, with explicit method state.

Every method follows ``methods.base.Method``: ``init(rng, example_batch) -> (model,
method_state)``, ``loss(model, method_state, batch, rng) -> (loss, (metrics, method_state))``
and ``embed(model, images) -> features``. Built by name through
``contrastive_jax.registry.METHODS``.
"""

from contrastive_jax.methods.base import Method

__all__ = ["Method"]
