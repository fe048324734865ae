"""The shared base of methods with a momentum (EMA) target network: MoCo v2/v3, BYOL, DirectPred.

The model is an online ``encoder -> projector (-> predictor)``; the target copies the
``encoder -> projector`` branch and lives in ``method_state["target"]`` as arrays, so it gets
no gradient and no optimizer update. ``method_state["step"]`` counts the steps for the momentum
schedule (constant, or BYOL's cosine schedule from ``base_momentum`` to 1).

Ordering. Reference implementations update the target after the optimizer step,
``theta_t <- m theta_t + (1 - m) theta_online``, and use it at the next step. Here the update
runs inside ``loss``, which sees the online weights *before* this step's optimizer update, i.e.
the weights the reference would have averaged in at the end of the previous step. Updating first
and then computing the targets therefore uses the reference's target weights at every step (MoCo's
code also updates its key encoder first, inside the forward pass). Two differences remain: the
momentum applied when building step k's target is m(k) here and m(k - 1) in BYOL's schedule,
and the EMA update that would follow the very last optimizer step is never applied.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.methods.base import Method
from contrastive_jax.methods.common import (
    build_projected_model, cosine_momentum, ema, param_arrays, with_params)
from contrastive_jax.methods.options import MomentumOptions


class MomentumMethod(Method):
    """Options: ``MomentumOptions`` (base_momentum, momentum_schedule "cosine" | "constant",
    the projector's keys); the cosine schedule runs over the ``total_steps`` of the run.

    ``predictor_kind()`` names the online predictor ("mlp", "linear", "none") or None.
    """

    options_type = MomentumOptions
    min_views = 2

    def predictor_kind(self) -> str | None:
        return None

    def init(self, rng, example_batch):
        model_rng, state_rng = jax.random.split(rng)
        model = build_projected_model(self.options, self.encoder_config, self.image_shape,
                                      model_rng, predictor=self.predictor_kind())
        state = {"target": param_arrays(model.branch()), "step": jnp.zeros((), jnp.int32)}
        return model, {**state, **self.extra_state(model, state_rng)}

    def extra_state(self, model, rng) -> dict:
        """Further method state (queues, predictor statistics); none by default."""
        return {}

    def momentum(self, step: jax.Array) -> jax.Array:
        base = self.options.base_momentum
        if self.options.momentum_schedule == "constant":
            return jnp.asarray(base, jnp.float32)
        return cosine_momentum(step, self.total_steps, base)
    def target_projections(self, model, method_state, x):
        """``(new_target_params, z_target [N, D] stop-gradient, momentum)`` for inputs x.

        The target runs in train mode (BatchNorm on the batch statistics, as in the papers);
        its own running statistics are discarded.
        """
        momentum = self.momentum(method_state["step"])
        target_params = ema(method_state["target"], param_arrays(model.branch()), momentum)
        _, z = with_params(model.branch(), target_params)(x, train=True)
        return target_params, jax.lax.stop_gradient(z), momentum

    @staticmethod
    def advance(method_state: dict, target_params, **updates) -> dict:
        """The next method state: new target, step + 1, and any other updated entries."""
        return {**method_state, **updates, "target": target_params,
                "step": method_state["step"] + 1}
