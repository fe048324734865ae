"""Linear probe: multinomial logistic regression on frozen features.

Objective (our regularization convention), for standardized features ``x_i: [D]``, labels
``y_i`` and parameters ``W: [D, C]``, ``b: [C]``:

    L(W, b) = (1/N) sum_i -log softmax(x_i W + b)_{y_i}  +  (l2 / 2) ||W||_F^2

The bias is not penalized. This is scikit-learn's ``LogisticRegression(C=C)`` objective
(``C sum_i CE_i + ||W||_F^2 / 2``, intercept unpenalized with lbfgs) divided by ``C N``, so
the two have the same minimizer when ``C = 1 / (l2 * N)``.

Protocol (the SimCLR / BYOL linear evaluation with an L2 sweep): features are standardized
with the mean and std of the rows being fit; ``l2`` is chosen from ``l2_grid`` on a seeded
held-out ``val_fraction`` of the train set; the model is refit on the full train set with that
``l2`` and scored on test. The solver is full-batch L-BFGS (``optax.lbfgs``, zoom line search)
run to a gradient-norm tolerance inside one ``jax.jit``. The validation rows are masked out
rather than sliced away, so the sweep and the refit run one compiled program.

Choosing ``l2``: the criterion is the validation log-loss (mean cross-entropy of the probe's
predicted probabilities on the validation rows, the unregularized data term of the objective):

    val_log_loss(l2) = (1/|V|) sum_{i in V} -log softmax(x_i W_l2 + b_l2)_{y_i}

and the ``l2`` with the smallest value wins (exact ties: the stronger ``l2``). Log-loss is a
strictly proper scoring rule, so it rewards calibrated probabilities rather than only the
argmax, and it varies smoothly with ``l2``. Validation accuracy, the older criterion, moves in
steps of ``1/|V|`` and saturates on easy problems: with a few hundred validation rows at 100%
every ``l2`` ties, and the choice then says nothing about the data (on 8x8 digits it picked
``l2 = 1``, the strongest, and cost the learned encoder a point of test accuracy). Validation
accuracy is still reported per ``l2``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from contrastive_jax.evaluate.labels import check_labels

DEFAULT_L2_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
_HIGHEST = jax.lax.Precision.HIGHEST


class LinearModel(NamedTuple):
    """``logits = ((x - mean) / std) @ weights + bias``."""
    weights: jax.Array  # [D, C]
    bias: jax.Array  # [C]
    mean: jax.Array  # [D]
    std: jax.Array  # [D]


@functools.partial(jax.jit, static_argnames=("standardize",))
def standardization(features: jax.Array, mask: jax.Array, *, standardize: bool = True):
    """Per-dimension ``(mean [D], std [D])`` of the rows of ``features: [N, D]`` where
    ``mask: [N]`` is 1; constant dimensions get std 1. ``standardize=False``: zeros and ones.
    """
    dim = features.shape[1]
    if not standardize:
        return jnp.zeros((dim,), jnp.float32), jnp.ones((dim,), jnp.float32)
    count = jnp.sum(mask)
    mean = jnp.matmul(mask, features, precision=_HIGHEST) / count
    std = jnp.sqrt(jnp.matmul(mask, jnp.square(features - mean), precision=_HIGHEST) / count)
    return mean, jnp.where(std > 1e-6 * (1.0 + jnp.abs(mean)), std, 1.0)


@jax.jit
def _standardize(features: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    return (features - mean) / std


def logistic_loss(params, features: jax.Array, labels: jax.Array, l2,
                  mask: jax.Array | None = None) -> jax.Array:
    """The objective above over the rows where ``mask`` is 1 (all rows if None).

    params: ``(W [D, C], b [C])``; features: [N, D]; labels: int [N]; mask: float [N] of 0/1.
    """
    weights, bias = params
    logits = jnp.matmul(features, weights, precision=_HIGHEST) + bias
    nll = -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1)[:, 0]
    mean_nll = jnp.mean(nll) if mask is None else jnp.sum(mask * nll) / jnp.sum(mask)
    return mean_nll + 0.5 * l2 * jnp.sum(weights * weights)


@functools.partial(jax.jit, static_argnames=("max_iter",))
def minimize_logistic(features: jax.Array, labels: jax.Array, mask: jax.Array, l2, init_params,
                      *, max_iter: int = 1000, tol=1e-5):
    """Full-batch L-BFGS on ``logistic_loss`` until ``||grad||_2 < tol`` or ``max_iter`` steps.

    features: float32 [N, D] (already standardized); labels: int [N]; mask: float32 [N], the
    rows that count; init_params: ``(W [D, C], b [C])``.
    Returns ``(params, num_iterations, final_grad_norm)``.
    """
    loss_fn = lambda params: logistic_loss(params, features, labels, l2, mask)
    solver = optax.lbfgs(memory_size=20)
    value_and_grad = optax.value_and_grad_from_state(loss_fn)

    def step(carry):
        params, state = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = solver.update(grad, state, params, value=value, grad=grad,
                                       value_fn=loss_fn)
        return optax.apply_updates(params, updates), state

    def keep_going(carry):
        _, state = carry
        count = optax.tree.get(state, "count")
        grad_norm = optax.tree.norm(optax.tree.get(state, "grad"))
        return (count == 0) | ((count < max_iter) & (grad_norm >= tol))

    params, state = jax.lax.while_loop(keep_going, step, (init_params, solver.init(init_params)))
    grad_norm = optax.tree.norm(jax.grad(loss_fn)(params))
    return params, optax.tree.get(state, "count"), grad_norm


@jax.jit
def predict_logits(model: LinearModel, features: jax.Array) -> jax.Array:
    """Logits [N, C] of raw (un-standardized) ``features: [N, D]``."""
    standardized = (features.astype(jnp.float32) - model.mean) / model.std
    return jnp.matmul(standardized, model.weights, precision=_HIGHEST) + model.bias


def accuracy(model: LinearModel, features, labels) -> float:
    """Top-1 accuracy of ``model`` on ``features: [N, D]``, ``labels: [N]``."""
    logits = predict_logits(model, jnp.asarray(features, jnp.float32))
    return float(np.mean(np.asarray(jnp.argmax(logits, -1)) == np.asarray(labels).reshape(-1)))


def log_loss(model: LinearModel, features, labels) -> float:
    """Mean cross-entropy ``-(1/N) sum_i log softmax(logits_i)_{y_i}`` of ``model``'s predicted
    probabilities on ``features: [N, D]``, ``labels: int [N]`` (natural log, computed in float64
    from the float32 logits)."""
    logits = np.asarray(predict_logits(model, jnp.asarray(features, jnp.float32)), np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.sum(np.exp(logits - top), axis=1))
    labels = np.asarray(labels).reshape(-1)
    return float(np.mean(log_norm - logits[np.arange(len(labels)), labels]))


@jax.jit
def _restandardize(model: LinearModel, mean: jax.Array, std: jax.Array):
    """Parameters giving ``model``'s logits on features standardized by ``(mean, std)``."""
    weights = model.weights * (std / model.std)[:, None]
    bias = model.bias + jnp.matmul((mean - model.mean) / model.std, model.weights,
                                   precision=_HIGHEST)
    return weights, bias


def fit_linear_model(features, labels, *, num_classes: int, l2: float, mask=None,
                     standardize: bool = True, init: LinearModel | None = None,
                     max_iter: int = 1000, tol: float = 1e-5) -> LinearModel:
    """Fit the regularized multinomial logistic regression on the rows of ``features: [N, D]``,
    ``labels: int [N]`` selected by ``mask: [N]`` (default all). ``init`` (e.g. the fit at a
    neighbouring ``l2``) warm-starts it; the result is the same up to the solver tolerance.
    """
    features = jnp.asarray(features, jnp.float32)
    if mask is None:
        mask = np.ones(features.shape[:1], np.float32)
    mask = jnp.asarray(mask, jnp.float32)
    mean, std = standardization(features, mask, standardize=standardize)
    if init is None:
        params = (jnp.zeros((features.shape[1], num_classes), jnp.float32),
                  jnp.zeros((num_classes,), jnp.float32))
    else:
        params = _restandardize(init, mean, std)
    (weights, bias), _, _ = minimize_logistic(
        _standardize(features, mean, std), jnp.asarray(labels, jnp.int32), mask,
        jnp.float32(l2), params, max_iter=max_iter, tol=tol)
    return LinearModel(weights, bias, mean, std)


def validation_split(num_examples: int, *, val_fraction: float, seed: int):
    """Seeded disjoint sorted ``(fit_indices, val_indices)``, at least one example in each."""
    if num_examples < 2:
        raise ValueError(f"choosing l2 on a validation split needs >= 2 examples, "
                         f"got {num_examples}")
    num_val = min(max(1, int(round(val_fraction * num_examples))), num_examples - 1)
    order = np.random.default_rng(seed).permutation(num_examples)
    return np.sort(order[num_val:]), np.sort(order[:num_val])


class L2Selection(NamedTuple):
    """What ``select_l2`` found: the chosen ``l2``, its fit on the non-validation rows (a warm
    start for the refit) and per-``l2`` validation log-loss and accuracy."""
    l2: float
    model: LinearModel | None
    val_log_losses: dict
    val_accuracies: dict


def select_l2(features: np.ndarray, labels: np.ndarray, *, num_classes: int,
              l2_grid: Sequence[float], val_fraction: float, seed: int, standardize: bool,
              max_iter: int, tol: float) -> L2Selection:
    """Fit on the train rows outside a seeded validation split for each ``l2`` and choose the
    one with the smallest validation log-loss (see the module docstring).

    The grid is swept from strongest to weakest regularization, each fit warm-started from the
    previous one; an exact tie goes to the stronger regularization.
    """
    fit_index, val_index = validation_split(len(labels), val_fraction=val_fraction, seed=seed)
    mask = np.zeros(len(labels), np.float32)
    mask[fit_index] = 1.0
    features_j, mask = jnp.asarray(features), jnp.asarray(mask)
    mean, std = standardization(features_j, mask, standardize=standardize)
    standardized, labels_j = _standardize(features_j, mean, std), jnp.asarray(labels, jnp.int32)
    params = (jnp.zeros((features.shape[1], num_classes), jnp.float32),
              jnp.zeros((num_classes,), jnp.float32))
    losses, accuracies, best = {}, {}, None
    for l2 in sorted((float(l2) for l2 in l2_grid), reverse=True):
        params, _, _ = minimize_logistic(standardized, labels_j, mask, jnp.float32(l2), params,
                                         max_iter=max_iter, tol=tol)
        model = LinearModel(*params, mean, std)
        losses[l2] = log_loss(model, features[val_index], labels[val_index])
        accuracies[l2] = accuracy(model, features[val_index], labels[val_index])
        if best is None or losses[l2] < losses[best[0]]:
            best = (l2, model)
    return L2Selection(best[0], best[1], losses, accuracies)


def linear_probe(train_features, train_labels, test_features, test_labels, *, num_classes: int,
                 l2_grid: Sequence[float] = DEFAULT_L2_GRID, val_fraction: float = 0.1,
                 seed: int = 0, standardize: bool = True, max_iter: int = 1000,
                 tol: float = 1e-5) -> dict:
    """Linear-probe accuracy of frozen features (protocol and objective in the module docstring).

    train_features: [N, D]; train_labels: int [N] in [0, num_classes); test_features: [M, D];
    test_labels: int [M]. Returns ``{"accuracy": test accuracy, "l2": chosen l2 (smallest
    validation log-loss), "val_log_loss" and "val_accuracy": the chosen l2's validation
    log-loss and accuracy (nan when the grid has one value, which skips validation),
    "val_log_losses" and "val_accuracies": {l2: value}, "train_accuracy": accuracy of the refit
    on train, "model": the refit LinearModel}``.
    """
    train_features = np.asarray(train_features, np.float32)
    train_labels = check_labels(train_labels, num_classes, "train labels")
    test_labels = check_labels(test_labels, num_classes, "test labels")
    if len(l2_grid) == 0:
        raise ValueError("l2_grid is empty")
    if not np.isfinite(train_features).all():
        raise ValueError("linear probe got non-finite train features")
    if len(l2_grid) == 1:
        selection = L2Selection(float(l2_grid[0]), None, {}, {})
    else:
        selection = select_l2(
            train_features, train_labels, num_classes=num_classes, l2_grid=l2_grid,
            val_fraction=val_fraction, seed=seed, standardize=standardize,
            max_iter=max_iter, tol=tol)
    l2, init = selection.l2, selection.model
    model = fit_linear_model(train_features, train_labels, num_classes=num_classes, l2=l2,
                             standardize=standardize, init=init, max_iter=max_iter, tol=tol)
    return {
        "accuracy": accuracy(model, test_features, test_labels),
        "l2": l2,
        "val_log_loss": selection.val_log_losses.get(l2, float("nan")),
        "val_accuracy": selection.val_accuracies.get(l2, float("nan")),
        "val_log_losses": selection.val_log_losses,
        "val_accuracies": selection.val_accuracies,
        "train_accuracy": accuracy(model, train_features, train_labels),
        "model": model,
    }
