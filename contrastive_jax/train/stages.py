"""Multi-stage methods (MCL): the stage change between two steps, from the training loop.

A method with ``stage_boundaries()`` (the steps after which a new stage begins) gets, right
after such a step and before that step's log and checkpoint, its ``begin_stage(model,
method_state, features)`` called with ``features = embed_stage`` of the whole training split in
source order (the ``batch["index"]`` order), streamed through the evaluation loader and embedded
sharded over the mesh. ``begin_stage`` may change the model's non-parameter state and returns the
new method state; parameters and optimizer state are left as they are. A checkpoint at a
boundary step holds the state after the change, so a resumed run never repeats or skips it.
"""

from __future__ import annotations

import jax

from contrastive_jax.data.pipeline import make_eval_loader
from contrastive_jax.evaluate.features import embed_split
from contrastive_jax.train.state import merge_model, split_model


def make_stage_hook(method, evaluation, train_source, *, graphdef, state_sharding):
    """``hook(state, step) -> state``, or None for a method without stages.

    ``evaluation``: the run's ``final_eval.Evaluation`` (its sharded ``embed_fn`` and batch
    size are reused).
    """
    if not hasattr(method, "stage_boundaries"):
        return None
    boundaries = frozenset(method.stage_boundaries())
    embed_fn = evaluation.embed_fn("embed_stage")

    def change(state, features):
        model = merge_model(graphdef, state.params, state.model_state)
        method_state = method.begin_stage(model, state.method_state, features)
        _, _, model_state = split_model(model)
        return state.replace(model_state=model_state, method_state=method_state)

    change = jax.jit(change, out_shardings=state_sharding, donate_argnums=0)

    def hook(state, step: int):
        if step not in boundaries:
            return state
        loader = make_eval_loader(train_source, batch_size=evaluation.batch_size)
        features, _ = embed_split(embed_fn, (state.params, state.model_state), loader)
        return change(state, features)

    return hook
