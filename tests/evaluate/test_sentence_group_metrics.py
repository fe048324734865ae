"""The sentence-similarity proxy (``sentence_group_metrics``) against a float64 NumPy reference
written from its definition on a tiny hand-made case: 6 sentences in groups {0: a, b, c},
{1: d, e}, {2: f} (f has no partner: not a query, still a candidate)."""

import numpy as np
import pytest

from contrastive_jax.evaluate.pair_retrieval import sentence_group_metrics


def reference(features, groups):
    x = features / np.linalg.norm(features, axis=1, keepdims=True)
    reciprocal, top1, pairs = [], [], []
    for i in range(len(x)):
        partners = [j for j in range(len(x)) if j != i and groups[j] == groups[i]]
        if not partners:
            continue
        others = [j for j in range(len(x)) if j != i]
        order = sorted(others, key=lambda j: -(x[i] @ x[j]))  # no ties in this case
        rank = next(r for r, j in enumerate(order) if groups[j] == groups[i])
        reciprocal.append(1.0 / (rank + 1) if rank < 10 else 0.0)
        top1.append(float(rank == 0))
        pairs += [(i, j) for j in partners if j > i]
    align = np.mean([np.sum((x[i] - x[j]) ** 2) for i, j in pairs])
    distances = [np.sum((x[i] - x[j]) ** 2) for i in range(len(x)) for j in range(i + 1, len(x))]
    uniform = np.log(np.mean(np.exp(-2.0 * np.array(distances))))
    return np.mean(reciprocal), np.mean(top1), align, uniform, len(reciprocal)


def test_matches_the_reference_on_a_hand_made_case():
    features = np.array([[1.0, 0.0, 0.0], [0.9, 0.3, 0.0], [0.0, 1.0, 0.2],   # group 0
                         [0.1, 0.95, 0.0], [0.0, 0.2, 1.0],                     # group 1
                         [0.7, 0.1, 0.6]])                                       # group 2
    groups = np.array([0, 0, 0, 1, 1, 2])
    got = sentence_group_metrics(features, groups)
    mrr, recall1, align, uniform, queries = reference(features, groups)
    # c and d are each other's nearest but in different groups: not every query hits.
    assert 0.0 < recall1 < 1.0 and queries == 5
    np.testing.assert_allclose(got["mrr@10"], mrr, rtol=1e-9)
    np.testing.assert_allclose(got["recall@1"], recall1, rtol=1e-9)
    np.testing.assert_allclose(got["alignment"], align, rtol=1e-5)
    np.testing.assert_allclose(got["uniformity"], uniform, rtol=1e-5)
    assert got["queries"] == 5


def test_needs_a_group_of_two():
    with pytest.raises(ValueError, match="groups of >= 2"):
        sentence_group_metrics(np.eye(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="groups must be"):
        sentence_group_metrics(np.eye(3), np.array([0, 1]))
