"""Low-label probes against scikit-learn on synthetic features, with the draws rebuilt here
from the protocol's description (not from the code under test)."""

import ml_collections
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from contrastive_jax.evaluate import (
    LowLabelEvaluator, array_batches, draw_shots, evaluators_from_config, low_label_scores)

NUM_CLASSES, DIM = 4, 6


def clusters(per_class, seed):
    """Overlapping Gaussian clusters (so few-shot accuracy is well below 100%)."""
    centres = np.random.default_rng(99).normal(0, 1.0, (NUM_CLASSES, DIM))
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(NUM_CLASSES), per_class)
    features = centres[labels] + rng.normal(0, 1.2, (len(labels), DIM))
    order = rng.permutation(len(labels))
    return features[order].astype(np.float32), labels[order]


def reference_draw(labels, k, seed, draw):
    """The protocol: default_rng([seed, draw]) permutes each class's indices in class order;
    the first k of each."""
    rng = np.random.default_rng([seed, draw])
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(NUM_CLASSES)]
    return np.sort(np.concatenate([p[:k] for p in per_class]))


def reference_scores(train, train_labels, test, test_labels, shots, draws, seed, l2, knn_k,
                     temperature):
    probe, knn = {k: [] for k in shots}, {k: [] for k in shots}
    for draw in range(draws):
        for k in shots:
            index = reference_draw(train_labels, k, seed, draw)
            x, y = train[index].astype(np.float64), train_labels[index]
            mean, std = x.mean(0), x.std(0)
            std = np.where(std > 1e-6 * (1 + np.abs(mean)), std, 1.0)
            model = LogisticRegression(C=1.0 / (l2 * len(index)), tol=1e-10, max_iter=10000)
            model.fit((x - mean) / std, y)
            probe[k].append(np.mean(model.predict((test - mean) / std) == test_labels))
            neighbours = KNeighborsClassifier(
                n_neighbors=min(knn_k, len(index)), metric="cosine",
                weights=lambda d: np.exp((1.0 - d) / temperature))
            neighbours.fit(x, y)
            knn[k].append(np.mean(neighbours.predict(test) == test_labels))
    return ({k: np.mean(v) for k, v in probe.items()}, {k: np.mean(v) for k, v in knn.items()},
            {k: np.std(v, ddof=1) for k, v in probe.items()})


def test_low_label_scores_match_scikit_learn():
    train, train_labels = clusters(60, seed=0)
    test, test_labels = clusters(50, seed=1)
    shots, draws, seed, l2 = (1, 5, 20), 3, 7, 0.05
    ours = low_label_scores(train, train_labels, test, test_labels, num_classes=NUM_CLASSES,
                            shots=shots, draws=draws, seed=seed, l2=l2, knn_k=10,
                            knn_temperature=0.1)
    probe, knn, probe_std = reference_scores(train, train_labels, test, test_labels, shots,
                                             draws, seed, l2, 10, 0.1)
    for k in shots:
        # One test point of 200 may fall on the other side of a boundary fit to 1e-5.
        assert ours[f"low_label_probe_{k}shot"] == pytest.approx(probe[k], abs=1 / 200 + 1e-9)
        assert ours[f"low_label_knn_{k}shot"] == pytest.approx(knn[k], abs=1e-9)
        assert ours[f"low_label_probe_{k}shot_std"] == pytest.approx(probe_std[k], abs=0.01)
    # More labels help on these clusters (a sanity check of the reference too).
    assert probe[20] > probe[1] and ours["low_label_probe_20shot"] > ours["low_label_probe_1shot"]


def test_draws_are_nested_seeded_and_k_per_class():
    _, labels = clusters(30, seed=0)
    first = draw_shots(labels, (1, 5, 10), num_classes=NUM_CLASSES, seed=3, draw=0)
    again = draw_shots(labels, (1, 5, 10), num_classes=NUM_CLASSES, seed=3, draw=0)
    other = draw_shots(labels, (1, 5, 10), num_classes=NUM_CLASSES, seed=3, draw=1)
    for k in (1, 5, 10):
        np.testing.assert_array_equal(first[k], again[k])
        np.testing.assert_array_equal(first[k], reference_draw(labels, k, 3, 0))
        assert np.bincount(labels[first[k]], minlength=NUM_CLASSES).tolist() == [k] * 4
    assert set(first[1]) <= set(first[5]) <= set(first[10])
    assert not np.array_equal(first[10], other[10])
    # A class with fewer than k examples: that k is reported as NaN, the others still run.
    assert draw_shots(labels, (31,), num_classes=NUM_CLASSES, seed=3, draw=0)[31] is None
    scores = low_label_scores(*clusters(30, 0), *clusters(5, 1), num_classes=NUM_CLASSES,
                              shots=(20, 31), draws=1, knn_k=10, knn_temperature=0.1)
    assert np.isnan(scores["low_label_probe_31shot"])
    assert 0.0 <= scores["low_label_probe_20shot"] <= 1.0
    assert scores["low_label_probe_20shot_std"] == 0.0


def test_reachable_from_config():
    config = ml_collections.ConfigDict(dict(
        knn_k=10, knn_temperature=0.1, final_linear_probe=False, probe_l2_grid=(0.01,),
        probe_max_iter=1000, diagnostics=False, low_label_shots=(1, 20), low_label_draws=2,
        low_label_l2=0.01))
    train, train_labels = clusters(20, seed=0)
    test, test_labels = clusters(10, seed=1)
    split = lambda x, y: lambda: array_batches({"x": x, "label": y}, 16)
    embed = lambda model, batch: (batch["x"], batch["label"])
    evaluators = evaluators_from_config(config, embed, train_batches=split(train, train_labels),
                                        test_batches=split(test, test_labels),
                                        num_classes=NUM_CLASSES)
    low = [e for e in evaluators if isinstance(e, LowLabelEvaluator)]
    assert len(low) == 1
    scores = dict(low[0].run(None))
    expected = low_label_scores(train, train_labels, test, test_labels, num_classes=NUM_CLASSES,
                                shots=(1, 20), draws=2, l2=0.01, knn_k=10, knn_temperature=0.1)
    assert scores == pytest.approx(expected)
    assert set(scores) == {f"low_label_{m}_{k}shot{s}" for m in ("probe", "knn")
                           for k in (1, 20) for s in ("", "_std")}
    config.low_label_shots = ()
    assert not any(isinstance(e, LowLabelEvaluator) for e in evaluators_from_config(
        config, embed, train_batches=split(train, train_labels),
        test_batches=split(test, test_labels), num_classes=NUM_CLASSES))
