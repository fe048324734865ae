"""SogCLR and iSogCLR: the global contrastive loss with per-example state over the data set.

"Provable Stochastic Optimization for Global Contrastive Learning: Small Batch Does Not Harm
Performance", Yuan et al., 2022 (ICML); "Not All Semantics are Created Equal: Contrastive
Self-supervised Learning with Automatic Temperature Individualization", Qiu et al., 2023 (ICML).
SimCLR's encoder + projector on two views; the loss (``losses.sogclr`` / ``losses.isogclr``)
reads and updates per-example arrays of the training split's length, indexed by each example's
position in the source (``batch["index"]``, which the train loader adds):

- ``log_u``: float32 [N], the log of the moving-average estimator u_i (``-inf``: not seen yet);
- iSogCLR also ``tau`` [N] (the learned temperatures, starting at ``temperature``) and
  ``tau_grad`` [N] (the momentum of their gradients).

The arrays live in the method state, so they are checkpointed with the run and restored on
resume. Under jit the rows a step reads (``state[index]``) are laid out like the batch, and the
[N] tables follow the state's sharding (replicated, or split over ``fsdp`` when large). An
example that appears twice in one global batch (a batch across an epoch boundary) is written
once, from its last occurrence, so the update is deterministic.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax import losses
from contrastive_jax.methods.common import embedding_std
from contrastive_jax.methods.options import ProjectorOptions, TemperatureOptions
from contrastive_jax.methods.projected import ProjectedViews

INDEX_KEY = "index"  # data.pipeline.INDEX_KEY (methods do not import data)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SogCLROptions(ProjectorOptions, TemperatureOptions):
    """The projector, the temperature (0.1 in the official code) and ``gamma`` (0.9), the weight
    of the batch estimate in ``u_i <- (1 - gamma) u_i + gamma g_i``."""

    gamma: float = 0.9

    def __post_init__(self):
        super().__post_init__()
        self.check("gamma", lambda v: 0 < v <= 1, "in (0, 1]")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ISogCLROptions(SogCLROptions):
    """SogCLR's options (``temperature`` is every example's initial tau_i) plus the DRO radius
    ``rho`` (0.3), the temperatures' step size ``eta`` (0.01), momentum weight ``beta`` (0.9)
    and bounds ``tau_min`` (0.05), ``tau_max`` (0.7): the official unimodal defaults."""

    rho: float = 0.3
    eta: float = 0.01
    beta: float = 0.9
    tau_min: float = 0.05
    tau_max: float = 0.7

    def __post_init__(self):
        super().__post_init__()
        self.check_positive("eta", "tau_min")
        self.check("beta", lambda v: 0 < v <= 1, "in (0, 1]")
        self.check("tau_max", lambda v: v >= self.tau_min, f">= tau_min={self.tau_min}")
        self.check("temperature", lambda v: self.tau_min <= v <= self.tau_max,
                   f"in [tau_min, tau_max] = [{self.tau_min}, {self.tau_max}] (the initial "
                   f"temperature of every example)")


def last_occurrence(index: jax.Array) -> jax.Array:
    """bool [B]: True where no later row of ``index`` holds the same value."""
    later = jnp.triu(index[:, None] == index[None, :], k=1)
    return ~jnp.any(later, axis=1)


def scatter_rows(table: jax.Array, index: jax.Array, values: jax.Array) -> jax.Array:
    """``table[index] = values`` with duplicates resolved to the last occurrence."""
    target = jnp.where(last_occurrence(index), index, table.shape[0])  # out of range: dropped
    return table.at[target].set(values.astype(table.dtype), mode="drop")


class SogCLR(ProjectedViews):
    """Options: ``SogCLROptions``. method_state: ``{"log_u": float32 [num_examples]}``."""

    options_type = SogCLROptions
    supports_grad_cache = False  # the loss reads batch["index"] and the method state

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        if self.num_examples is None or self.num_examples < 1:
            raise ValueError(f"method {self.name!r} keeps per-example state: build it with "
                             f"num_examples (the training split's size; train.build."
                             f"build_method(..., num_examples=len(train_source))).")

    def init(self, rng, example_batch):
        model, _ = super().init(rng, example_batch)
        return model, self.initial_state()

    def initial_state(self) -> dict:
        return {"log_u": jnp.full((self.num_examples,), -jnp.inf, jnp.float32)}

    def objective(self, z, batch):  # the stateless form is not defined for this method
        raise TypeError(f"{type(self).__name__}'s loss needs its method state: call loss().")

    def _index(self, batch) -> jax.Array:
        if INDEX_KEY not in batch:
            raise KeyError(f"method {self.name!r} needs batch[{INDEX_KEY!r}] (each example's "
                           f"position in the training source; data.pipeline's train loader "
                           f"adds it).")
        return batch[INDEX_KEY].astype(jnp.int32)

    def step_loss(self, z, index, method_state):
        """``(loss, metrics, state updates)`` from the projections ``z: [2, B, D]``."""
        loss, log_u = losses.sogclr(z[0], z[1], method_state["log_u"][index],
                                    temperature=self.options.temperature,
                                    gamma=self.options.gamma)
        return loss, {}, {"log_u": scatter_rows(method_state["log_u"], index, log_u)}

    def loss(self, model, method_state, batch, rng):
        index = self._index(batch)
        z = self._by_view(self.embed_for_loss(model, self.encoder_inputs(batch, rng)))
        loss, metrics, updates = self.step_loss(z, index, method_state)
        metrics = {"loss": loss, "embedding_std": embedding_std(z.reshape(-1, z.shape[-1])),
                   **metrics}
        return loss, (metrics, {**method_state, **updates})

    def per_example_arrays(self, method_state) -> dict[str, np.ndarray]:
        """The per-example state as NumPy arrays [num_examples] (``per_example.npz`` in the
        workdir, beside the labels)."""
        return {key: np.asarray(value) for key, value in method_state.items()}

    def per_example_report(self, arrays: dict[str, np.ndarray], labels: np.ndarray) -> dict:
        """Summary of the per-example state for ``summary.json``: the fraction of the
        examples whose estimator was set (seen at least once)."""
        return {"u_seen_fraction": float(np.mean(np.isfinite(arrays["log_u"])))}


class ISogCLR(SogCLR):
    """Options: ``ISogCLROptions``. method_state: ``{"log_u", "tau", "tau_grad"}``, each float32
    [num_examples]; ``tau`` starts at ``temperature``, ``tau_grad`` at 0."""

    options_type = ISogCLROptions

    def initial_state(self) -> dict:
        n = self.num_examples
        return {**super().initial_state(),
                "tau": jnp.full((n,), self.options.temperature, jnp.float32),
                "tau_grad": jnp.zeros((n,), jnp.float32)}

    def step_loss(self, z, index, method_state):
        o = self.options
        loss, (log_u, tau, tau_grad) = losses.isogclr(
            z[0], z[1], method_state["log_u"][index], method_state["tau"][index],
            method_state["tau_grad"][index], gamma=o.gamma, rho=o.rho, eta=o.eta, beta=o.beta,
            tau_min=o.tau_min, tau_max=o.tau_max)
        updates = {key: scatter_rows(method_state[key], index, value)
                   for key, value in (("log_u", log_u), ("tau", tau), ("tau_grad", tau_grad))}
        return loss, {"tau_batch_mean": jnp.mean(tau)}, updates

    def per_example_report(self, arrays, labels):
        """SogCLR's plus ``temperature_report`` of the learned temperatures."""
        return {**super().per_example_report(arrays, labels),
                **temperature_report(arrays["tau"], labels)}


def temperature_report(tau: np.ndarray, labels: np.ndarray) -> dict:
    """How the learned temperatures follow class frequency: each class's size in the split and
    mean tau, and the Pearson and Spearman correlations over examples between tau_i and the
    size of example i's class (the paper: frequent semantics get larger temperatures)."""
    tau = np.asarray(tau, np.float64)
    labels = np.asarray(labels).astype(np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    frequency = counts[np.searchsorted(classes, labels)].astype(np.float64)

    def pearson(a, b):
        a, b = a - a.mean(), b - b.mean()
        denominator = np.sqrt(np.sum(a * a) * np.sum(b * b))
        return float(np.sum(a * b) / denominator) if denominator > 0 else float("nan")

    from scipy.stats import rankdata  # average ranks of ties

    return {
        "class_size": {int(c): int(n) for c, n in zip(classes, counts)},
        "tau_mean_by_class": {int(c): float(tau[labels == c].mean()) for c in classes},
        "tau_class_size_pearson": pearson(tau, frequency),
        "tau_class_size_spearman": pearson(rankdata(tau), rankdata(frequency)),
    }
