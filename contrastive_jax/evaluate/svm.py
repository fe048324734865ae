"""TS2Vec's classification protocol: an RBF SVM on frozen instance representations.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022, Sec. 4.1,
and the released ``tasks/_eval_protocols.py`` ``fit_svm``: scikit-learn's ``SVC`` (RBF kernel,
``gamma="scale"``) with ``C`` chosen by 5-fold cross-validated grid search over
``{1e-4, 1e-3, ..., 1e4, inf}`` on the train split; when the train split is too small for the
folds (fewer than 5 examples per class on average, or fewer than 50 in all) no search is
run and ``C = inf`` (a hard margin). At most ``max_samples`` (10,000) train examples enter the
search (a stratified subsample, as released). Test accuracy on the held-out split.
"""

from __future__ import annotations

import numpy as np

C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4, np.inf)


def fit_svm(features: np.ndarray, labels: np.ndarray, *, c_grid=C_GRID, folds: int = 5,
            max_samples: int = 10_000, n_jobs: int = 1):
    """The fitted ``SVC`` (``best_estimator_`` of the grid search, or ``C = inf``)."""
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.svm import SVC

    features = np.asarray(features, np.float64)
    labels = np.asarray(labels)
    num_classes = len(np.unique(labels))
    svm = SVC(C=np.inf, kernel="rbf", gamma="scale")
    if len(features) // num_classes < folds or len(features) < 50:
        return svm.fit(features, labels)
    if len(features) > max_samples:
        features, _, labels, _ = train_test_split(features, labels, train_size=max_samples,
                                                  random_state=0, stratify=labels)
    search = GridSearchCV(svm, {"C": list(c_grid)}, cv=folds, n_jobs=n_jobs)
    return search.fit(features, labels).best_estimator_


def svm_accuracy(train_features: np.ndarray, train_labels: np.ndarray,
                 test_features: np.ndarray, test_labels: np.ndarray, **options) -> dict:
    """``{"accuracy": held-out accuracy, "C": the chosen C}`` (``fit_svm``)."""
    model = fit_svm(train_features, train_labels, **options)
    accuracy = float(np.mean(model.predict(np.asarray(test_features, np.float64))
                             == np.asarray(test_labels)))
    return {"accuracy": accuracy, "C": float(model.C)}
