"""Linear probe vs. scikit-learn's LogisticRegression with C = 1 / (l2 * N).

Every fit here has a 600 x 20 train set with 4 classes, so the jitted L-BFGS solver compiles
once for the whole file (the validation split is a mask, not a slice).
"""

import jax
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from contrastive_jax.evaluate import fit_linear_model, linear_probe, predict_logits
from contrastive_jax.evaluate.linear_probe import log_loss as lp_log_loss
from contrastive_jax.evaluate.linear_probe import validation_split

NUM_TRAIN, DIM, NUM_CLASSES = 600, 20, 4


def gaussian_classes(num, *, separation, seed):
    rng = np.random.default_rng(seed)
    centres = separation * rng.normal(size=(NUM_CLASSES, DIM))
    labels = rng.integers(0, NUM_CLASSES, num)
    # Per-dimension offsets and scales: only standardization makes the problem well conditioned.
    offset, scale = rng.normal(size=DIM) * 5, rng.uniform(0.2, 20.0, DIM)
    features = (centres[labels] + rng.normal(size=(num, DIM))) * scale + offset
    return features.astype(np.float32), labels


def standardized(train, *others):
    mean, std = train.mean(0), train.std(0)
    return [((x - mean) / std).astype(np.float64) for x in (train, *others)]


def sklearn_fit(features, labels, l2, *, c_scale=1.0):
    model = LogisticRegression(C=c_scale / (l2 * len(labels)), tol=1e-10, max_iter=10_000)
    return model.fit(features, labels)


@pytest.mark.parametrize("l2", [1e-1, 1e-3])
def test_fit_matches_sklearn_probabilities(l2):
    features, labels = gaussian_classes(NUM_TRAIN, separation=0.6, seed=0)
    model = fit_linear_model(features, labels, num_classes=NUM_CLASSES, l2=l2)
    (train_std,) = standardized(features)
    reference = sklearn_fit(train_std, labels, l2)
    probabilities = np.asarray(jax.nn.softmax(predict_logits(model, features)))
    np.testing.assert_allclose(probabilities, reference.predict_proba(train_std), atol=2e-3)
    np.testing.assert_allclose(np.asarray(model.weights), reference.coef_.T, atol=5e-3,
                               rtol=5e-3)


def test_a_different_convention_would_be_caught():
    """l2 = 1/(C N) is the convention; reading l2 as 1/C (a factor N off) gives other weights."""
    features, labels = gaussian_classes(NUM_TRAIN, separation=0.6, seed=0)
    model = fit_linear_model(features, labels, num_classes=NUM_CLASSES, l2=1e-2)
    (train_std,) = standardized(features)
    wrong = sklearn_fit(train_std, labels, 1e-2, c_scale=NUM_TRAIN)
    assert np.max(np.abs(np.asarray(model.weights) - wrong.coef_.T)) > 0.1


def test_probe_accuracy_within_a_point_of_sklearn():
    features, labels = gaussian_classes(NUM_TRAIN + 1000, separation=0.25, seed=1)
    train, test = features[:NUM_TRAIN], features[NUM_TRAIN:]
    train_labels, test_labels = labels[:NUM_TRAIN], labels[NUM_TRAIN:]
    l2 = 1e-3
    result = linear_probe(train, train_labels, test, test_labels, num_classes=NUM_CLASSES,
                          l2_grid=(l2,))
    train_std, test_std = standardized(train, test)
    reference = sklearn_fit(train_std, train_labels, l2).score(test_std, test_labels)
    assert 0.4 < reference < 0.95  # a problem where the probe's accuracy is informative
    assert result["accuracy"] == pytest.approx(reference, abs=0.01)
    assert result["l2"] == l2 and np.isnan(result["val_accuracy"])
    assert np.isnan(result["val_log_loss"]) and result["val_log_losses"] == {}


def test_l2_selection_matches_sklearn_on_the_same_split():
    features, labels = gaussian_classes(NUM_TRAIN + 300, separation=0.2, seed=2)
    train, test = features[:NUM_TRAIN], features[NUM_TRAIN:]
    train_labels, test_labels = labels[:NUM_TRAIN], labels[NUM_TRAIN:]
    grid = (1e-3, 1e-2, 1e-1, 1.0)
    result = linear_probe(train, train_labels, test, test_labels, num_classes=NUM_CLASSES,
                          l2_grid=grid, val_fraction=0.25, seed=3)
    reference_losses = sklearn_validation(train, train_labels, grid, val_fraction=0.25, seed=3)
    for l2 in grid:
        assert result["val_log_losses"][l2] == pytest.approx(reference_losses[l2][0], rel=2e-3)
        assert result["val_accuracies"][l2] == pytest.approx(reference_losses[l2][1], abs=0.014)
    assert len(set(result["val_accuracies"].values())) > 1  # the grid matters here
    assert result["l2"] == min(grid, key=lambda l2: reference_losses[l2][0])
    assert result["val_log_loss"] == min(result["val_log_losses"].values())
    assert result["val_accuracy"] == result["val_accuracies"][result["l2"]]
    # The refit uses the chosen l2 on all of train.
    refit = sklearn_fit(*standardized(train), train_labels, result["l2"])
    (train_std, test_std) = standardized(train, test)
    assert result["accuracy"] == pytest.approx(refit.score(test_std, test_labels), abs=0.01)


def sklearn_validation(train, train_labels, grid, *, val_fraction, seed):
    """{l2: (validation log-loss, validation accuracy)} of scikit-learn fits on the same split."""
    fit_index, val_index = validation_split(len(train_labels), val_fraction=val_fraction,
                                            seed=seed)
    fit_std, val_std = standardized(train[fit_index], train[val_index])
    scores = {}
    for l2 in grid:
        reference = sklearn_fit(fit_std, train_labels[fit_index], l2)
        probabilities = reference.predict_proba(val_std)
        scores[l2] = (log_loss(train_labels[val_index], probabilities,
                               labels=range(NUM_CLASSES)),
                      reference.score(val_std, train_labels[val_index]))
    return scores


def test_l2_is_chosen_by_log_loss_when_validation_accuracy_ties():
    """Separated classes with a few flipped labels: every l2 from 1e-3 up misclassifies the same
    validation rows, so accuracy cannot choose (the old rule, ties to the stronger l2, took 1.0),
    while the log-loss has a clear interior minimum, the same one scikit-learn's has."""
    features, labels = gaussian_classes(NUM_TRAIN + 300, separation=1.5, seed=8)
    flipped = np.random.default_rng(9).random(len(labels)) < 0.02
    labels = np.where(flipped, (labels + 1) % NUM_CLASSES, labels)
    train, train_labels = features[:NUM_TRAIN], labels[:NUM_TRAIN]
    grid = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    result = linear_probe(train, train_labels, features[NUM_TRAIN:], labels[NUM_TRAIN:],
                          num_classes=NUM_CLASSES, l2_grid=grid, val_fraction=0.25, seed=3)
    reference = sklearn_validation(train, train_labels, grid, val_fraction=0.25, seed=3)
    chosen = min(grid, key=lambda l2: reference[l2][0])
    assert chosen not in (grid[0], grid[-1])  # an interior choice, not an edge by default
    assert result["l2"] == chosen
    for l2 in grid:
        assert result["val_log_losses"][l2] == pytest.approx(reference[l2][0], rel=2e-3), l2
    # The accuracy tie that made the old criterion blind: the chosen l2 and the strongest one
    # classify the validation rows equally well.
    assert result["val_accuracies"][chosen] == result["val_accuracies"][1.0]
    assert result["val_accuracies"][1.0] == max(result["val_accuracies"].values())


def test_log_loss_matches_sklearn():
    features, labels = gaussian_classes(NUM_TRAIN, separation=0.4, seed=10)
    model = fit_linear_model(features, labels, num_classes=NUM_CLASSES, l2=1e-2)
    probabilities = np.asarray(jax.nn.softmax(predict_logits(model, features)), np.float64)
    expected = log_loss(labels, probabilities, labels=range(NUM_CLASSES))
    assert lp_log_loss(model, features, labels) == pytest.approx(expected, rel=1e-5)


def test_validation_split_is_seeded_and_disjoint():
    fit, val = validation_split(100, val_fraction=0.1, seed=0)
    assert len(val) == 10 and len(np.intersect1d(fit, val)) == 0 and len(fit) + len(val) == 100
    again, _ = validation_split(100, val_fraction=0.1, seed=0)
    other, _ = validation_split(100, val_fraction=0.1, seed=1)
    np.testing.assert_array_equal(fit, again)
    assert not np.array_equal(fit, other)


def separable_with_constant_columns(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, NUM_TRAIN + 200)
    signal = np.eye(NUM_CLASSES)[labels] * 4 + 0.3 * rng.normal(size=(len(labels), NUM_CLASSES))
    constant = np.concatenate([np.zeros((len(labels), DIM - NUM_CLASSES - 1)),
                               np.full((len(labels), 1), 7.0)], 1)  # e.g. always-black pixels
    return np.concatenate([signal, constant], 1).astype(np.float32), labels


def test_separable_data_with_constant_columns():
    features, labels = separable_with_constant_columns(4)
    result = linear_probe(features[:NUM_TRAIN], labels[:NUM_TRAIN], features[NUM_TRAIN:],
                          labels[NUM_TRAIN:], num_classes=NUM_CLASSES, l2_grid=(1e-4, 1e-2))
    assert result["accuracy"] == 1.0 and result["train_accuracy"] == 1.0
    assert np.all(np.isfinite(np.asarray(result["model"].weights)))


def test_standardization_makes_the_probe_affine_invariant():
    features, labels = gaussian_classes(NUM_TRAIN + 400, separation=0.3, seed=6)
    rng = np.random.default_rng(7)
    scale, shift = rng.uniform(0.01, 100, DIM), rng.normal(size=DIM) * 50
    moved = features * scale + shift
    split = lambda x: (x[:NUM_TRAIN], labels[:NUM_TRAIN], x[NUM_TRAIN:], labels[NUM_TRAIN:])
    plain = linear_probe(*split(features), num_classes=NUM_CLASSES, l2_grid=(1e-2,))
    affine = linear_probe(*split(moved), num_classes=NUM_CLASSES, l2_grid=(1e-2,))
    assert plain["accuracy"] == pytest.approx(affine["accuracy"], abs=0.006)
    raw = linear_probe(*split(moved), num_classes=NUM_CLASSES, l2_grid=(1e-2,), standardize=False)
    assert raw["accuracy"] < plain["accuracy"] - 0.02  # so the check above is not vacuous


def test_warm_start_reaches_the_same_solution():
    features, labels = gaussian_classes(NUM_TRAIN, separation=0.5, seed=5)
    cold = fit_linear_model(features, labels, num_classes=NUM_CLASSES, l2=1e-2)
    mask = np.arange(NUM_TRAIN) < NUM_TRAIN // 2
    start = fit_linear_model(features * 2.0 + 1.0, labels, num_classes=NUM_CLASSES, l2=1.0,
                             mask=mask)
    warm = fit_linear_model(features, labels, num_classes=NUM_CLASSES, l2=1e-2, init=start)
    np.testing.assert_allclose(np.asarray(warm.weights), np.asarray(cold.weights), atol=1e-3)


def test_rejects_bad_labels_and_empty_grid():
    features = np.zeros((10, 2), np.float32)
    labels = np.zeros(10, np.int32)
    with pytest.raises(ValueError, match="labels"):
        linear_probe(features, np.full(10, 3), features, labels, num_classes=3)
    with pytest.raises(ValueError, match="integers"):
        linear_probe(features, np.zeros(10), features, labels, num_classes=3)
    with pytest.raises(ValueError, match="empty"):
        linear_probe(features, labels, features, labels, num_classes=3, l2_grid=())
    with pytest.raises(ValueError, match="non-finite"):
        linear_probe(np.full((10, 2), np.inf), labels, features, labels, num_classes=3)
