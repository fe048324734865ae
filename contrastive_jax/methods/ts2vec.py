"""TS2Vec: hierarchical contrasting of two overlapping crops of a time series, optionally with
Dynamic Bad Pair Mining (DBPM) reweighting of the per-series losses.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022; Lan et al.,
"Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining Approach",
ICLR 2024.

Per step: ``make_views`` (``augment.name="ts2vec"``, ``data.augment_series``) cuts the batch's
``series [B, T, C]`` / ``mask [B, T]`` into two random overlapping crops with timestamp masks;
the encoder (``encoder.name="ts2vec"``) gives per-step representations of each crop; the
overlap's steps are aligned and ``losses.hierarchical_contrastive_loss`` is applied to them.
No projector: the loss acts on the encoder's output, as in the paper. The representation for
evaluation is the encoder's max over the observed steps of the whole series.

``dbpm=True``: the method state keeps DBPM's memory over the training set (the batch's
``index`` key says which examples it holds): per-series losses are recorded every step, the
bad-pair statistics are refreshed at the start of every epoch (``N // batch_size`` steps) and,
after ``dbpm_warm_fraction`` of the epochs (50 of 80 in the released config), bad pairs are
down-weighted (``losses.dbpm``).

``corrupt_fraction`` (a robustness study, not part of either paper's method): a fixed, seeded
subset of ``round(corrupt_fraction * N)`` training series (``corrupt_seed``) has bad positive
pairs: whenever one of them is in a batch, its second view is replaced by the second view of
the next row of the batch (another series), so its "positive" is another series. The subset is
fixed over training, so a per-example memory such as DBPM's can see it.

Evaluation encodes with the running average of the encoder's weights over training (TS2Vec's
``torch.optim.swa_utils.AveragedModel``, updated after every step), kept in the model as
``Averaged`` variables (model state, not trained; ``average_weights=False`` evaluates the
trained weights). The average is updated inside the loss, so it covers the weights each step
starts from (``p_0 .. p_{K-1}`` after K steps; TS2Vec's covers ``p_1 .. p_K``). Series longer
than 3000 steps are not split into sections as TS2Vec's ``max_train_length`` does.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import Method, build_encoder
from contrastive_jax.methods.common import embedding_std, param_arrays, with_params
from contrastive_jax.methods.options import MethodOptions


@dataclasses.dataclass(frozen=True, kw_only=True)
class TS2VecOptions(MethodOptions):
    """``alpha``: weight of the instance-wise term (0.5); ``temporal_unit``: the first scale
    with a temporal term (0); ``average_weights``: evaluate the running average of the
    encoder's weights (True, as released); ``dbpm``: DBPM reweighting with thresholds
    ``dbpm_cut_np`` (2) and ``dbpm_cut_fp`` (3) standard deviations, off for the first
    ``dbpm_warm_fraction`` of the epochs (0.625 = 50 / 80, the released config);
    ``corrupt_fraction``: the fraction of the training series given a bad positive pair (0:
    none; the subset is drawn with ``corrupt_seed``)."""

    alpha: float = 0.5
    temporal_unit: int = 0
    average_weights: bool = True
    dbpm: bool = False
    dbpm_cut_np: float = 2.0
    dbpm_cut_fp: float = 3.0
    dbpm_warm_fraction: float = 0.625
    corrupt_fraction: float = 0.0
    corrupt_seed: int = 0

    def __post_init__(self):
        self.check("alpha", lambda v: 0 <= v <= 1, "in [0, 1]")
        self.check_at_least(0, "temporal_unit")
        self.check_positive("dbpm_cut_np", "dbpm_cut_fp")
        self.check("dbpm_warm_fraction", lambda v: 0 <= v <= 1, "in [0, 1]")
        self.check("corrupt_fraction", lambda v: 0 <= v <= 1, "in [0, 1]")
        self.check_at_least(0, "corrupt_seed")


def corrupted_examples(num_examples: int, fraction: float, seed: int = 0) -> np.ndarray:
    """``[N]`` bool: exactly ``round(fraction * N)`` examples, a uniformly random subset drawn
    with ``numpy.random.default_rng(seed)``."""
    chosen = np.random.default_rng(seed).permutation(num_examples)[:round(fraction * num_examples)]
    corrupt = np.zeros(num_examples, bool)
    corrupt[chosen] = True
    return corrupt


def dbpm_report(sums: np.ndarray, counts: np.ndarray, corrupted: np.ndarray | None,
                *, cut_np: float, cut_fp: float) -> dict:
    """Which series DBPM's own rule (``losses.memory_statistics``, ``losses.bad_pairs``) flags
    on a memory: ``mu, sigma`` of the seen series' (``counts > 0``) mean losses ``m``, the
    fractions of them flagged faulty and noisy; with the study's ``corrupted`` mask, the
    fraction of the corrupted series flagged faulty, of the clean ones flagged at all, and the
    corrupted series' mean z-score ``(m - mu) / sigma`` (a group of a fraction p of equal bad
    losses sits at most ``sqrt((1 - p) / p)`` above the mean)."""
    means, mu, sigma = losses.memory_statistics(jnp.asarray(sums), jnp.asarray(counts))
    noisy, faulty = losses.bad_pairs(means, mu, sigma, cut_np=cut_np, cut_fp=cut_fp)
    seen = np.asarray(counts) > 0
    means, noisy, faulty = (np.asarray(a)[seen] for a in (means, noisy, faulty))
    mu, sigma = float(mu), float(sigma)
    report = {"dbpm_memory_mu": mu, "dbpm_memory_sigma": sigma,
              "dbpm_faulty_fraction": float(faulty.mean()),
              "dbpm_noisy_fraction": float(noisy.mean())}
    if corrupted is not None:
        bad = np.asarray(corrupted, bool)[seen]
        z = (means - mu) / max(sigma, 1e-12)
        report.update(
            corrupted_flagged_fraction=float(faulty[bad].mean()) if bad.any() else float("nan"),
            clean_flagged_fraction=float((faulty | noisy)[~bad].mean()),
            corrupted_mean_z=float(z[bad].mean()) if bad.any() else float("nan"))
    return report


def corrupt_second_views(crops, corrupt: jax.Array):
    """``crops`` with row ``i``'s second view (``x2``, ``mask2``, ``keep2``) replaced by row
    ``(i + 1) mod B``'s where ``corrupt[i]`` (``[B]`` bool): a positive pair of two different
    series. The crops' lengths are shared by the batch, so the overlap stays aligned."""
    swap = lambda a: jnp.where(corrupt.reshape((-1,) + (1,) * (a.ndim - 1)),
                               jnp.roll(a, -1, axis=0), a)
    return crops._replace(x2=swap(crops.x2), mask2=swap(crops.mask2), keep2=swap(crops.keep2))


class Averaged(nnx.Variable):
    """A running average of trained weights (model state, not a parameter)."""


class SeriesModel(nnx.Module):
    """The encoder (TS2Vec has no projector) and, with ``average``, the running average of its
    weights (``Averaged`` leaves in the order of ``param_arrays(encoder)``) and its count."""

    def __init__(self, encoder: nnx.Module, *, average: bool = True):
        self.encoder = encoder
        self.average = nnx.List([Averaged(jnp.array(leaf)) for leaf in
                                 jax.tree.leaves(param_arrays(encoder))]) if average else None
        self.averaged_steps = Averaged(jnp.zeros((), jnp.int32))

    def update_average(self) -> None:
        """``avg <- avg + (p - avg) / (n + 1)`` (the first update copies ``p``)."""
        n = self.averaged_steps.value
        for variable, leaf in zip(self.average, jax.tree.leaves(param_arrays(self.encoder))):
            variable.value = jnp.where(n == 0, leaf, variable.value + (leaf - variable.value)
                                       / (n + 1).astype(leaf.dtype))
        self.averaged_steps.value = n + 1

    def eval_encoder(self) -> nnx.Module:
        """The encoder evaluation uses: the averaged weights when kept, else the trained ones."""
        if self.average is None:
            return self.encoder
        structure = jax.tree.structure(param_arrays(self.encoder))
        return with_params(self.encoder, jax.tree.unflatten(
            structure, [variable.value for variable in self.average]))


def series_inputs(inputs) -> tuple[jax.Array, jax.Array | None]:
    """``(series, mask)`` from the evaluation's inputs: a dict of the source's input keys or
    the series alone."""
    if isinstance(inputs, dict):
        return inputs["series"], inputs.get("mask")
    return inputs, None


class TS2Vec(Method):
    options_type = TS2VecOptions
    min_views = 2

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        if not getattr(self.make_views, "crop_pair", False):
            raise ValueError(f"method {self.name!r} needs the TS2Vec crop views: set "
                             f"config.augment.name='ts2vec'.")
        if (options.dbpm or options.corrupt_fraction) and not self.num_examples:
            raise ValueError(f"method {self.name!r} with dbpm=True or corrupt_fraction > 0 "
                             f"needs the training set size (train.build.build_method passes "
                             f"num_examples).")
        self.corrupt = (jnp.asarray(corrupted_examples(self.num_examples,
                                                       options.corrupt_fraction,
                                                       options.corrupt_seed))
                        if options.corrupt_fraction else None)

    # --- DBPM schedule (static) ---
    @property
    def steps_per_epoch(self) -> int:
        return max(1, (self.num_examples or self.batch_size) // self.batch_size)

    @property
    def num_epochs(self) -> int:
        return max(1, math.ceil(self.total_steps / self.steps_per_epoch))

    def init(self, rng, example_batch):
        model = SeriesModel(build_encoder(self.encoder_config, self.image_shape,
                                          nnx.Rngs(params=rng)),
                            average=self.options.average_weights)
        state = {}
        if self.options.dbpm:
            n = int(self.num_examples)
            state = {"step": jnp.zeros((), jnp.int32), "sums": jnp.zeros((n,), jnp.float32),
                     "counts": jnp.zeros((n,), jnp.int32), "history": jnp.zeros((n,), jnp.float32),
                     "mu": jnp.zeros((), jnp.float32), "sigma": jnp.zeros((), jnp.float32)}
        return model, state

    def pair_losses(self, model, batch, rng) -> jax.Array:
        """Per-series hierarchical losses ``[B]`` of this step's two crops."""
        view_rng, dropout_rng = jax.random.split(rng)
        crops = self.make_views(view_rng, batch["series"], batch["mask"])
        if self.corrupt is not None:
            crops = corrupt_second_views(crops, self.corrupt[batch["index"]])
        b = crops.x1.shape[0]
        h = model.encoder.timestamps(
            jnp.concatenate([crops.x1, crops.x2]), jnp.concatenate([crops.mask1, crops.mask2]),
            keep=jnp.concatenate([crops.keep1, crops.keep2]), train=True,
            dropout_rng=dropout_rng)
        h1 = jnp.roll(h[:b], -crops.shift, axis=1)  # the overlap first, as in view 2
        return losses.hierarchical_contrastive_loss(
            h1, h[b:], alpha=self.options.alpha, temporal_unit=self.options.temporal_unit,
            length=crops.overlap, per_example=True), h

    def loss(self, model, method_state, batch, rng):
        if model.average is not None:
            model.update_average()
        pair_loss, h = self.pair_losses(model, batch, rng)
        metrics = {"embedding_std": embedding_std(h.max(axis=1))}
        corrupt = None if self.corrupt is None else self.corrupt[batch["index"]]
        if corrupt is not None:
            metrics["corrupted_pairs"] = corrupt.mean()
        if not self.options.dbpm:
            loss = pair_loss.mean()
            return loss, ({"loss": loss, **metrics}, method_state)
        o, state = self.options, dict(method_state)
        epoch = state["step"] // self.steps_per_epoch
        refresh = state["step"] % self.steps_per_epoch == 0
        means, mu, sigma = losses.memory_statistics(state["sums"], state["counts"])
        history = jnp.where(refresh, means, state["history"])
        mu, sigma = jnp.where(refresh, mu, state["mu"]), jnp.where(refresh, sigma, state["sigma"])
        active = epoch >= round(o.dbpm_warm_fraction * self.num_epochs)
        index = batch["index"]
        weights = losses.dbpm_weights(pair_loss, history[index], mu, sigma, cut_np=o.dbpm_cut_np,
                                      cut_fp=o.dbpm_cut_fp, active=active)
        loss = losses.dbpm_loss(pair_loss, weights)
        sums, counts = losses.update_memory(state["sums"], state["counts"], index, pair_loss,
                                            epoch=epoch, num_epochs=self.num_epochs)
        state.update(step=state["step"] + 1, sums=sums, counts=counts, history=history, mu=mu,
                     sigma=sigma)
        metrics.update(dbpm_downweighted=jnp.mean(weights != 1.0),
                       unweighted_loss=pair_loss.mean())
        if corrupt is not None:  # the batch's pairs that are both corrupted and down-weighted
            metrics["dbpm_downweighted_corrupted"] = jnp.mean((weights != 1.0) & corrupt)
        return loss, ({"loss": loss, **metrics}, state)

    def per_example_arrays(self, method_state) -> dict[str, np.ndarray]:
        """With ``dbpm``: the memory (``sums``, ``counts``), its per-series mean loss
        ``memory_mean``, and the ``corrupted`` mask of the robustness study
        (``per_example.npz``); without: nothing."""
        if not self.options.dbpm:
            return {}
        sums, counts = np.asarray(method_state["sums"]), np.asarray(method_state["counts"])
        arrays = {"sums": sums, "counts": counts,
                  "memory_mean": sums / np.maximum(counts, 1)}
        if self.corrupt is not None:
            arrays["corrupted"] = np.asarray(self.corrupt)
        return arrays

    def per_example_report(self, arrays: dict[str, np.ndarray], labels: np.ndarray) -> dict:
        """``dbpm_report`` of the final memory under the run's thresholds."""
        return dbpm_report(arrays["sums"], arrays["counts"], arrays.get("corrupted"),
                           cut_np=self.options.dbpm_cut_np, cut_fp=self.options.dbpm_cut_fp)

    def embed(self, model, inputs):
        series, mask = series_inputs(inputs)
        return model.eval_encoder()(series.astype(jnp.float32), mask, train=False)
