"""kNN classifier vs. an independent NumPy reference and scikit-learn."""

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from contrastive_jax.evaluate import knn_accuracy, knn_predict
from contrastive_jax.evaluate.knn import knn_votes, l2_normalize


def clustered(num, dim, num_classes, *, spread, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_classes, dim))
    labels = rng.integers(0, num_classes, num)
    features = centres[labels] + spread * rng.normal(size=(num, dim))
    # Scale rows arbitrarily: cosine kNN must not care about norms.
    return (features * rng.uniform(0.1, 10.0, (num, 1))).astype(np.float32), labels


def numpy_weighted_knn(train, train_labels, queries, *, num_classes, k, temperature):
    train = train / np.linalg.norm(train, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    predictions = []
    for query in queries.astype(np.float64):
        similarity = train.astype(np.float64) @ query
        neighbours = np.argsort(-similarity)[:k]
        votes = np.zeros(num_classes)
        for j in neighbours:
            votes[train_labels[j]] += np.exp(similarity[j] / temperature)
        predictions.append(np.argmax(votes))
    return np.array(predictions)


@pytest.mark.parametrize("k,temperature", [(20, 0.07), (5, 0.5), (10, 0.01)])
def test_weighted_knn_matches_numpy(k, temperature):
    train, train_labels = clustered(300, 16, 5, spread=1.5, seed=0)
    test, test_labels = clustered(90, 16, 5, spread=1.5, seed=1)
    test = test[:, ::-1].copy()  # different centres from train: a harder, non-trivial problem
    train, test = np.concatenate([train, test[:50]]), test[50:]
    train_labels, test_labels = np.concatenate([train_labels, test_labels[:50]]), test_labels[50:]
    expected = numpy_weighted_knn(train, train_labels, test, num_classes=5, k=k,
                                  temperature=temperature)
    predicted = knn_predict(train, train_labels, test, num_classes=5, k=k,
                            temperature=temperature)
    np.testing.assert_array_equal(predicted, expected)
    accuracy = knn_accuracy(train, train_labels, test, test_labels, num_classes=5, k=k,
                            temperature=temperature)
    assert accuracy == pytest.approx(np.mean(expected == test_labels))


def test_weighting_changes_the_vote():
    # Query at x-axis; one very close neighbour of class 1, two farther of class 0.
    train = np.array([[1.0, 0.01], [1.0, 0.9], [1.0, -0.9]], np.float32)
    labels = np.array([1, 0, 0])
    query = np.array([[1.0, 0.0]], np.float32)
    weighted = knn_predict(train, labels, query, num_classes=2, k=3, temperature=0.05)
    uniform = knn_predict(train, labels, query, num_classes=2, k=3, weighting="uniform")
    assert weighted.tolist() == [1] and uniform.tolist() == [0]


def test_uniform_knn_matches_sklearn_cosine():
    train, train_labels = clustered(400, 24, 6, spread=2.5, seed=2)
    test, _ = clustered(150, 24, 6, spread=2.5, seed=3)
    reference = KNeighborsClassifier(n_neighbors=15, metric="cosine", algorithm="brute")
    expected = reference.fit(train, train_labels).predict(test)
    predicted = knn_predict(train, train_labels, test, num_classes=6, k=15, weighting="uniform")
    np.testing.assert_array_equal(predicted, expected)
    # ... and the exp(sim / T) weighting really changes predictions on this data.
    weighted = knn_predict(train, train_labels, test, num_classes=6, k=15)
    assert np.sum(weighted != expected) > 10


def test_batching_and_padding_do_not_change_predictions():
    train, train_labels = clustered(200, 8, 4, spread=2.0, seed=4)
    test, _ = clustered(37, 8, 4, spread=2.0, seed=5)
    full = knn_predict(train, train_labels, test, num_classes=4, k=7)
    for batch_size in (5, 36):
        np.testing.assert_array_equal(
            knn_predict(train, train_labels, test, num_classes=4, k=7, batch_size=batch_size), full)


def test_k_larger_than_train_set_and_self_query():
    train, labels = clustered(12, 4, 3, spread=0.5, seed=6)
    # k=1 on the training points themselves recovers every label.
    assert knn_accuracy(train, labels, train, labels, num_classes=3, k=1) == 1.0
    # k clipped to N: every query sees all points; uniform votes give the majority class.
    predicted = knn_predict(train, labels, train[:3], num_classes=3, k=100, weighting="uniform")
    assert predicted.tolist() == [np.argmax(np.bincount(labels, minlength=3))] * 3


def test_low_temperature_tends_to_one_nearest_neighbour():
    train, labels = clustered(200, 4, 3, spread=2.0, seed=7)
    queries, _ = clustered(60, 4, 3, spread=2.0, seed=8)
    # exp(sim / 0.002) overflows float32 unless shifted; the limit T -> 0 is the 1-NN rule.
    cold = knn_predict(train, labels, queries, num_classes=3, k=20, temperature=0.002)
    nearest = knn_predict(train, labels, queries, num_classes=3, k=1)
    uniform = knn_predict(train, labels, queries, num_classes=3, k=20, weighting="uniform")
    np.testing.assert_array_equal(cold, nearest)
    assert np.any(nearest != uniform)  # the two limits differ on this data
    train_normed = l2_normalize(jnp.asarray(train))
    votes = knn_votes(train_normed, jnp.asarray(labels), l2_normalize(jnp.asarray(queries)),
                      num_classes=3, k=20, temperature=0.002, weighting="distance")
    assert np.all(np.isfinite(np.asarray(votes)))


def test_rejects_bad_options():
    train, labels = clustered(50, 4, 2, spread=1.0, seed=7)
    with pytest.raises(ValueError, match="weighting"):
        knn_predict(train, labels, train, num_classes=2, weighting="gaussian")
    with pytest.raises(ValueError, match="temperature"):
        knn_predict(train, labels, train, num_classes=2, temperature=0.0)
    with pytest.raises(ValueError, match="non-finite"):
        knn_predict(train, labels, np.full_like(train, np.nan), num_classes=2)
