"""The ridge regression probe against scikit-learn (evaluate.regression)."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.preprocessing import StandardScaler

from contrastive_jax.evaluate import RidgeProbeEvaluator, ridge_probe, with_labels
from contrastive_jax.evaluate.features import array_batches


def data(seed=0, n=200, m=80, d=6):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    x_train, x_test = rng.normal(2.0, 3.0, (n, d)), rng.normal(2.0, 3.0, (m, d))
    y_train = x_train @ w + 5.0 + rng.normal(0, 1.0, n)
    y_test = x_test @ w + 5.0 + rng.normal(0, 1.0, m)
    return x_train, y_train, x_test, y_test


@pytest.mark.parametrize("l2", [1e-2, 10.0, 300.0])
def test_single_l2_equals_sklearn_ridge_on_standardised_features(l2):
    x_train, y_train, x_test, y_test = data()
    result = ridge_probe(x_train, y_train, x_test, y_test, l2_grid=(l2,))
    scaler = StandardScaler().fit(x_train)
    model = Ridge(alpha=l2).fit(scaler.transform(x_train), y_train)
    predictions = model.predict(scaler.transform(x_test))
    assert result["l2"] == l2
    np.testing.assert_allclose(result["mae"], mean_absolute_error(y_test, predictions), rtol=1e-9)
    np.testing.assert_allclose(result["r2"], r2_score(y_test, predictions), rtol=1e-9)
    np.testing.assert_allclose(result["rmse"], np.sqrt(np.mean((predictions - y_test) ** 2)),
                               rtol=1e-9)


def test_grid_search_picks_the_validation_best_and_refits():
    x_train, y_train, x_test, y_test = data(1)
    grid = (1e-2, 1.0, 1e4)
    result = ridge_probe(x_train, y_train, x_test, y_test, l2_grid=grid, seed=3)
    # the same selection, done with scikit-learn on the same seeded validation rows
    order = np.random.default_rng(3).permutation(len(x_train))
    val, fit = order[:40], order[40:]
    scaler = StandardScaler().fit(x_train)
    xs = scaler.transform(x_train)
    errors = [mean_absolute_error(y_train[val], Ridge(alpha=a).fit(xs[fit], y_train[fit])
                                  .predict(xs[val])) for a in grid]
    best = grid[int(np.argmin(errors))]
    assert result["l2"] == best and best != 1e4  # a huge L2 predicts the mean
    refit = Ridge(alpha=best).fit(xs, y_train).predict(scaler.transform(x_test))
    np.testing.assert_allclose(result["mae"], mean_absolute_error(y_test, refit), rtol=1e-9)
    assert result["r2"] > 0.8


def test_evaluator_reads_float_targets_through_streamed_batches():
    x_train, y_train, x_test, y_test = data(2)
    split = lambda x, y: lambda: array_batches({"x": x.astype(np.float32),
                                                "target": y.astype(np.float32)}, 64)
    evaluator = RidgeProbeEvaluator(
        with_labels(lambda model, x: x * model, input_key="x", label_key="target"),
        train_batches=split(x_train, y_train), test_batches=split(x_test, y_test),
        l2_grid=(1.0,))
    scores = dict(evaluator.run(1.0))
    expected = ridge_probe(x_train, y_train, x_test, y_test, l2_grid=(1.0,))
    np.testing.assert_allclose(scores["ridge_mae"], expected["mae"], rtol=1e-4)
    np.testing.assert_allclose(scores["ridge_r2"], expected["r2"], rtol=1e-4)


def test_bad_input_is_explained():
    x_train, y_train, x_test, y_test = data()
    with pytest.raises(ValueError, match="l2_grid"):
        ridge_probe(x_train, y_train, x_test, y_test, l2_grid=(0.0,))
    with pytest.raises(ValueError, match="one target each"):
        ridge_probe(x_train, y_train[:5], x_test, y_test)
