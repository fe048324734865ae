"""Representation learning on regression data (records with a float ``"target"``): SupReMix and
its two baselines, L1 regression and SupCon on binned targets.

"Mixup Your Own Pairs" (SupReMix), Wu, Dong, Chen, Zhou and Zhou, 2023: an encoder +
projector trained with ``losses.supremix`` on two views of each example; the paper compares it
with an encoder trained end to end by L1 regression and with SupCon on the targets (here: on
the source's quantile bins, ``batch["label"]`` of a ``data.regression`` source). All three are
read the same way afterwards: a ridge probe of the frozen encoder's features
(``evaluate.regression``).

Inputs: images (``batch["image"]``, uint8 ``[B, H, W, C]``, views from the config's
augmentation, e.g. ``rotated:mnist5k``) or feature vectors (``batch["features"]``, float32
``[B, F]``, a source whose ``image_shape`` is ``(F,)``, e.g. ``tabular:diabetes``); a view of
a feature vector is the vector plus Gaussian noise of std ``feature_noise`` (0: the vector
itself). Targets reach the losses divided by ``target_unit`` (and, for L1, less
``target_center``), so one recipe fits targets in degrees, years or mpg.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.losses.supremix import NEGATIVE_MIX_BETA
from contrastive_jax.methods.base import Method, build_encoder
from contrastive_jax.methods.batch_loss import batch_loss
from contrastive_jax.methods.common import (
    EncoderWithProjector, build_projected_model, embedding_std, views_of)
from contrastive_jax.methods.options import MethodOptions, SimCLROptions
from contrastive_jax.models import ProjectionMLP


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegressionInputOptions(MethodOptions):
    """How a regression batch reaches the loss: ``target_unit`` (> 0) divides the targets;
    ``feature_noise`` (>= 0) is the std of the Gaussian noise that makes a view of a feature
    vector (unused for images)."""

    target_unit: float = 1.0
    feature_noise: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("target_unit")
        self.check("feature_noise", lambda v: v >= 0, ">= 0")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupReMixOptions(SimCLROptions, RegressionInputOptions):
    """SimCLR's options (projector, ``temperature``, loss form) plus ``losses.supremix``'s
    ``positive_window`` (in target units after ``target_unit``), ``distance_weight`` and the
    Beta(a, b) of the anchor's share of a hard negative, ``negative_mix_beta`` (the released
    code's (2, 8))."""

    positive_window: float = 5.0
    distance_weight: bool = True
    negative_mix_beta: tuple[float, float] = NEGATIVE_MIX_BETA

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("positive_window")
        self.check("negative_mix_beta", lambda v: len(v) == 2 and min(v) > 0,
                   "two Beta parameters > 0, e.g. (2.0, 8.0)")
        self.reject_blockwise("supremix", "its mixtures need the whole similarity matrix")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupConBinsOptions(SimCLROptions, RegressionInputOptions):
    """SimCLR's options plus ``base_temperature``: SupCon on ``batch["label"]``, the target's
    quantile bin."""

    base_temperature: float = 0.07

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("base_temperature")
        self.reject_blockwise("supcon_bins", "it is the dense SupCon of a regression batch")


@dataclasses.dataclass(frozen=True, kw_only=True)
class L1RegressionOptions(RegressionInputOptions):
    """``target_center`` is subtracted from the targets before ``target_unit`` divides them."""

    target_center: float = 0.0


def is_feature_vector(image_shape) -> bool:
    """Whether the source's examples are feature vectors ``(F,)`` rather than images."""
    return len(tuple(image_shape)) == 1


class RegressionMethod(Method):
    """The input handling shared by the regression methods: views of images or of feature
    vectors, targets in loss units, and ``embed`` of either."""

    min_views = 1
    num_views_used = 2

    def input_views(self, batch: dict, rng: jax.Array) -> list[jax.Array]:
        """``num_views_used`` views ``[B, ...]`` of the batch's examples."""
        if not is_feature_vector(self.image_shape):
            return views_of(self, batch, rng, self.num_views_used)
        x = batch["features"].astype(jnp.float32)
        noise = self.options.feature_noise
        if not noise:
            return [x] * self.num_views_used
        keys = jax.random.split(rng, self.num_views_used)
        return [x + noise * jax.random.normal(k, x.shape) for k in keys]

    def scaled_targets(self, batch: dict, center: float = 0.0) -> jax.Array:
        if "target" not in batch:
            raise ValueError(f"method {self.name!r} learns from regression targets: use a "
                             f"source whose records carry a float 'target' (rotated:mnist5k, "
                             f"tabular:diabetes, tabular:autompg).")
        return (batch["target"].astype(jnp.float32) - center) / self.options.target_unit

    def embed(self, model, inputs):
        if is_feature_vector(self.image_shape):
            return model.encoder(inputs.astype(jnp.float32), train=False)
        return super().embed(model, inputs)


class _ProjectedRegression(RegressionMethod):
    """Encoder + projector on two views, with a subclass's ``objective(z [B, 2, D], batch,
    rng)``."""

    min_views = 1

    def init(self, rng, example_batch):
        return build_projected_model(self.options, self.encoder_config, self.image_shape,
                                     rng), {}

    def loss(self, model, method_state, batch, rng):
        view_rng, loss_rng = jax.random.split(rng)
        views = self.input_views(batch, view_rng)
        _, z = model(jnp.concatenate(views), train=True)
        z = jnp.stack(jnp.split(z, len(views)), axis=1)  # [B, V, D]
        loss = self.objective(z, batch, loss_rng)
        metrics = {"loss": loss, "embedding_std": embedding_std(z.reshape(-1, z.shape[-1]))}
        return loss, (metrics, method_state)


class SupReMix(_ProjectedRegression):
    """Options: ``SupReMixOptions``. ``losses.supremix`` on the projections of two views;
    the anchor's share of each hard negative is drawn from Beta(``negative_mix_beta``) every
    step."""

    options_type = SupReMixOptions

    @classmethod
    def loss_forms(cls, options):
        return ("global", "all_gather"), False

    def objective(self, z, batch, rng):
        count = z.shape[0] * z.shape[1]
        a, b = self.options.negative_mix_beta
        mix = jax.random.beta(rng, a, b, (z.shape[0], z.shape[1], count))
        loss_fn = functools.partial(
            losses.supremix, temperature=self.options.temperature,
            positive_window=self.options.positive_window,
            distance_weight=self.options.distance_weight)
        return batch_loss(loss_fn, (z, self.scaled_targets(batch), mix), options=self.options)


class SupConBins(_ProjectedRegression):
    """Options: ``SupConBinsOptions``. SupCon on two views with the target's quantile bin
    (``batch["label"]``) as the class: the classification recipe applied to regression."""

    options_type = SupConBinsOptions

    @classmethod
    def loss_forms(cls, options):
        return ("global", "all_gather"), False

    def objective(self, z, batch, rng):
        loss_fn = functools.partial(losses.supcon, temperature=self.options.temperature,
                                    base_temperature=self.options.base_temperature)
        return batch_loss(loss_fn, (z, batch["label"]), options=self.options)


class L1Regression(RegressionMethod):
    """Options: ``L1RegressionOptions``. The supervised baseline: encoder + a linear head
    trained end to end on ``mean |f(x) - (y - target_center) / target_unit|`` of one view."""

    options_type = L1RegressionOptions
    num_views_used = 1

    def init(self, rng, example_batch):
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.encoder_config, self.image_shape, rngs)
        head = ProjectionMLP(encoder.feature_dim, out_dim=1, num_layers=1, rngs=rngs)
        return EncoderWithProjector(encoder, head), {}

    def loss(self, model, method_state, batch, rng):
        (view,) = self.input_views(batch, rng)
        _, prediction = model(view, train=True)
        target = self.scaled_targets(batch, self.options.target_center)
        loss = jnp.mean(jnp.abs(prediction[:, 0] - target))
        metrics = {"loss": loss, "mae": loss * self.options.target_unit}
        return loss, (metrics, method_state)
