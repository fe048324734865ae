"""TS2Vec's SVM protocol: no search (hard margin, C = inf) on a small train split, a 5-fold
search over the released grid otherwise, and held-out accuracy."""

import numpy as np

from contrastive_jax.evaluate import svm_accuracy
from contrastive_jax.evaluate.svm import C_GRID, fit_svm


def _blobs(n, seed, classes=2):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    return rng.standard_normal((n, 5)) + 3.0 * labels[:, None], labels


def test_small_train_splits_use_a_hard_margin_without_search():
    x, y = _blobs(40, 0)  # < 50 examples
    assert fit_svm(x, y).C == np.inf
    x, y = _blobs(60, 0, classes=15)  # < 5 examples per class
    assert fit_svm(x, y).C == np.inf


def test_larger_splits_choose_c_by_cross_validation_and_score_the_test_split():
    x, y = _blobs(120, 0)
    noisy = y.copy()
    noisy[::7] = 1 - noisy[::7]  # label noise makes a finite C the better choice
    model = fit_svm(x, noisy)
    assert model.C in C_GRID and model.kernel == "rbf" and model.gamma == "scale"
    test_x, test_y = _blobs(200, 1)
    result = svm_accuracy(x, noisy, test_x, test_y)
    assert result["C"] == model.C
    expected = float(np.mean(model.predict(test_x) == test_y))
    assert result["accuracy"] == expected and expected > 0.9
