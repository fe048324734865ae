"""MCL: Multistage Contrastive Learning, SimCLR trained in stages with feature-aware negatives.

"Learning the Unlearned: Mitigating Feature Suppression in Contrastive Learning", Zhang et al.,
2024 (ECCV). The run's ``total_steps`` are split into ``stages`` stages (``stage_steps`` each,
the last one takes the rest). Stage 0 is SimCLR. At the end of stage s the training set is
embedded with stage s's encoder (un-augmented, inference mode, L2-normalized as the released
``cluster.py`` does), k-means splits it into ``num_clusters`` clusters, and an example's
pseudo-label becomes ``label * num_clusters + cluster``, the joint assignment of every stage so
far (the released code's integration of the stages' labels). In stage s + 1 an anchor's negatives
are only the batch's examples with its pseudo-label (``losses.mcl_nt_xent``); the released code
draws whole batches from one pseudo-label instead. The final representation is the
concatenation of every stage's encoder features (cross-stage representation integration).

State, all checkpointed with the run:

- ``method_state["cluster"]``: int32 [num_examples], each training example's pseudo-label,
  indexed by its dataset index ``batch["index"]`` (0 everywhere in stage 0);
- ``method_state["stage"]``: int32, the current stage;
- the frozen encoders of the finished stages and the count of them live in the model as
  ``MCLModel.frozen`` / ``MCLModel.stages_done``, variables of type ``FrozenStage`` that are not
  ``nnx.Param`` (so the optimizer never sees them: they sit in the train state's
  ``model_state``), because ``embed(model, x)`` must reach them.

The stage change runs between two steps, from the training loop: ``train.stages`` calls
``stage_boundaries`` (after which steps), ``embed_stage`` (the features to cluster) and
``begin_stage`` (freeze the encoder, cluster, advance). A stage continues from the previous
stage's weights and the run's one learning-rate schedule (the released code starts each stage
as a new training run).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import center_pixels, images_to_unit_range
from contrastive_jax.methods.common import build_projected_model, embedding_std
from contrastive_jax.methods.options import ProjectorOptions, TemperatureOptions
from contrastive_jax.methods.projected import ProjectedViews
from contrastive_jax.methods.sogclr import INDEX_KEY

INT32_MAX = 2**31 - 1


KMEANS_SEED = 0  # k-means' seeding draws from key(KMEANS_SEED) folded with the stage


def kmeans_plus_plus(rng: jax.Array, x: jax.Array, *, num_clusters: int,
                     iterations: int) -> jax.Array:
    """Lloyd's k-means from k-means++ seeding (each next centre drawn with probability
    proportional to the squared distance to the nearest chosen one; sklearn's ``KMeans`` /
    ``MiniBatchKMeans`` default, which the released code uses): labels int32 [N] of x [N, D].
    A cluster that loses all its members keeps its centre."""
    n = x.shape[0]
    squared = jnp.sum(x * x, axis=1)

    def distances(centres):  # [N, K] squared Euclidean
        return jnp.maximum(squared[:, None] - 2.0 * x @ centres.T
                           + jnp.sum(centres * centres, axis=1)[None, :], 0.0)

    keys = jax.random.split(rng, num_clusters)
    first = jax.random.randint(keys[0], (), 0, n)
    centres = jnp.zeros((num_clusters, x.shape[1]), x.dtype).at[0].set(x[first])
    nearest = distances(x[first][None])[:, 0]

    def seed(k, carry):
        centres, nearest = carry
        pick = jax.random.categorical(keys[k], jnp.log(jnp.maximum(nearest, 1e-30)))
        centres = centres.at[k].set(x[pick])
        return centres, jnp.minimum(nearest, distances(x[pick][None])[:, 0])

    centres, _ = jax.lax.fori_loop(1, num_clusters, seed, (centres, nearest))

    def lloyd(_, centres):
        labels = jnp.argmin(distances(centres), axis=1)
        return losses.back_translate(labels, x, num_clusters=num_clusters, empty=centres)

    centres = jax.lax.fori_loop(0, iterations, lloyd, centres)
    return jnp.argmin(distances(centres), axis=1).astype(jnp.int32)


class FrozenStage(nnx.Variable):
    """A finished stage's encoder weights or statistics: model state, never a parameter."""


class MCLModel(nnx.Module):
    """The current stage's ``encoder`` -> ``projector`` and the finished stages' encoders.

    ``frozen``: the encoder's state (parameters and statistics) stacked over ``stages - 1``
    slots, as ``FrozenStage`` variables; ``stages_done``: how many slots hold a finished stage.
    """

    def __init__(self, encoder: nnx.Module, projector: nnx.Module, *, stages: int):
        self.encoder = encoder
        self.projector = projector
        encoder_state = nnx.to_pure_dict(nnx.state(encoder))
        self.frozen = nnx.data(jax.tree.map(
            lambda x: FrozenStage(jnp.zeros((stages - 1,) + x.shape, x.dtype)), encoder_state))
        self.stages_done = FrozenStage(jnp.zeros((), jnp.int32))

    def __call__(self, x: jax.Array, *, train: bool) -> tuple[jax.Array, jax.Array]:
        features = self.encoder(x, train=train)
        return features, self.projector(features, train=train)

    def frozen_encoder(self, slot: int) -> nnx.Module:
        """A fresh encoder module with slot ``slot``'s weights (shares nothing with the model)."""
        graphdef, state = nnx.split(self.encoder)
        weights = jax.tree.map(lambda v: v[...][slot], self.frozen,
                               is_leaf=lambda v: isinstance(v, nnx.Variable))
        nnx.replace_by_pure_dict(state, weights)
        return nnx.merge(graphdef, state)

    def freeze_current(self, slot: jax.Array) -> None:
        """Copy the current encoder into slot ``slot`` and count it."""
        current = jax.lax.stop_gradient(nnx.to_pure_dict(nnx.state(self.encoder)))

        def write(variable, value):
            variable[...] = variable[...].at[slot].set(value.astype(variable.dtype))

        jax.tree.map(write, self.frozen, current,
                     is_leaf=lambda v: isinstance(v, nnx.Variable))
        self.stages_done[...] = self.stages_done[...] + 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class MCLOptions(ProjectorOptions, TemperatureOptions):
    """SimCLR's projector and temperature (0.5), ``stages`` (3: this library's choice; the
    released code runs one stage per command), ``stage_steps`` (0: ``total_steps // stages``), ``num_clusters`` (10, the
    released ``--num-clusters``) and ``kmeans_iterations`` (100, the released
    ``--cluster-max-iter``)."""

    temperature: float = 0.5
    stages: int = 3
    stage_steps: int = 0
    num_clusters: int = 10
    kmeans_iterations: int = 100

    def __post_init__(self):
        super().__post_init__()
        self.check_at_least(1, "stages", "num_clusters", "kmeans_iterations")
        self.check_at_least(0, "stage_steps")
        self.check("num_clusters", lambda k: k ** max(self.stages - 1, 0) <= INT32_MAX,
                   f"small enough that num_clusters ** (stages - 1) fits int32 (the joint "
                   f"pseudo-labels of {self.stages} stages)")


class MCL(ProjectedViews):
    """Options: ``MCLOptions``. method_state: ``{"cluster": int32 [num_examples], "stage":
    int32}``; model: ``MCLModel``. ``embed`` concatenates the ``stages`` encoders' features
    (finished stages first, the current encoder last; slots of stages not reached yet give
    zeros, so mid-run evaluations see the stages trained so far)."""

    options_type = MCLOptions
    supports_grad_cache = False  # the loss reads batch["index"] and the method state

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        if self.num_examples is None or self.num_examples < options.num_clusters:
            raise ValueError(f"method {self.name!r} clusters the training set into "
                             f"num_clusters={options.num_clusters}: build it with num_examples "
                             f"(the training split's size, at least num_clusters; got "
                             f"{self.num_examples}).")
        boundaries = self.stage_boundaries()
        if len(boundaries) != options.stages - 1 or (boundaries and (
                boundaries[0] < 1 or boundaries[-1] >= self.total_steps)):
            raise ValueError(
                f"method {self.name!r}: {options.stages} stages of stage_steps="
                f"{options.stage_steps or 'total_steps // stages'} do not fit total_steps="
                f"{self.total_steps}; every stage needs at least one step (lower "
                f"config.method.stages or stage_steps, or raise config.total_steps).")

    def stage_boundaries(self) -> tuple[int, ...]:
        """The steps after which a new stage begins: ``k * stage_steps``, k = 1..stages-1."""
        o = self.options
        length = o.stage_steps or self.total_steps // o.stages
        return tuple(k * length for k in range(1, o.stages)) if length else (0,) * (o.stages - 1)

    def init(self, rng, example_batch):
        base = build_projected_model(self.options, self.encoder_config, self.image_shape, rng)
        model = MCLModel(base.encoder, base.projector, stages=self.options.stages)
        return model, {"cluster": jnp.zeros((self.num_examples,), jnp.int32),
                       "stage": jnp.zeros((), jnp.int32)}

    def objective(self, z, batch):  # the stateless form is not defined for this method
        raise TypeError(f"{type(self).__name__}'s loss needs its method state: call loss().")

    def loss(self, model, method_state, batch, rng):
        if INDEX_KEY not in batch:
            raise KeyError(f"method {self.name!r} needs batch[{INDEX_KEY!r}] (each example's "
                           f"position in the training source; data.pipeline's train loader "
                           f"adds it).")
        cluster = method_state["cluster"][batch[INDEX_KEY].astype(jnp.int32)]
        z = self._by_view(self.embed_for_loss(model, self.encoder_inputs(batch, rng)))
        loss = losses.mcl_nt_xent(z[0], z[1], cluster, temperature=self.options.temperature)
        same = cluster[:, None] == cluster[None, :]
        metrics = {"loss": loss, "embedding_std": embedding_std(z.reshape(-1, z.shape[-1])),
                   "stage": jnp.asarray(method_state["stage"], jnp.float32),
                   # negatives per anchor, of the 2(B - 1) a SimCLR anchor has
                   "negatives_per_anchor": 2.0 * (jnp.sum(same) - cluster.shape[0])
                   / cluster.shape[0]}
        return loss, (metrics, method_state)

    # --- stages (called by train.stages between two steps) -----------------------------------

    def embed_stage(self, model, images):
        """The current stage's representation to cluster: encoder features, L2-normalized."""
        features = model.encoder(center_pixels(images_to_unit_range(images)), train=False)
        return losses.l2_normalize(features.astype(jnp.float32))

    def begin_stage(self, model: MCLModel, method_state, features: jax.Array):
        """End the current stage: freeze its encoder into the next slot, refine every example's
        pseudo-label with k-means (``kmeans_plus_plus``) on ``features`` ([num_examples, D], ``embed_stage`` of the
        training set in source order), advance ``stage``. Mutates ``model``; returns the new
        method state."""
        features = jax.lax.stop_gradient(jnp.asarray(features, jnp.float32))
        if features.shape[0] != self.num_examples:
            raise ValueError(f"begin_stage: got features of {features.shape[0]} examples, the "
                             f"training set has {self.num_examples}.")
        labels = kmeans_plus_plus(jax.random.fold_in(jax.random.key(KMEANS_SEED),
                                                     method_state["stage"]), features,
                                  num_clusters=self.options.num_clusters,
                                  iterations=self.options.kmeans_iterations)
        model.freeze_current(method_state["stage"])
        cluster = method_state["cluster"] * self.options.num_clusters + labels
        return {"cluster": cluster.astype(jnp.int32), "stage": method_state["stage"] + 1}

    def embed(self, model, images):
        """``[f_0(x), ..., f_{S-2}(x), f_current(x)]``: the finished stages' encoders (zeros for a
        slot not reached yet) and the current one, [B, stages * feature_dim]."""
        x = center_pixels(images_to_unit_range(images))
        parts = []
        for slot in range(self.options.stages - 1):
            features = model.frozen_encoder(slot)(x, train=False)
            parts.append(jnp.where(slot < model.stages_done[...], features, 0.0))
        parts.append(model.encoder(x, train=False))
        return jnp.concatenate(parts, axis=-1)
