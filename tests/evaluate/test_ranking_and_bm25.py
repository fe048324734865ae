"""BM25 against a float64 loop written from the formula; ranking metrics against hand counts."""

import math

import numpy as np
import pytest

from contrastive_jax.evaluate.bm25 import bm25_scores, code_words
from contrastive_jax.evaluate.ranking import ranking_metrics, relevant_ranks


def bm25_reference(query, documents, k1=1.5, b=0.75):
    n = len(documents)
    avgdl = sum(len(d) for d in documents) / n
    out = []
    for document in documents:
        score = 0.0
        for term in query:
            holding = sum(term in d for d in documents)
            if not holding:
                continue
            idf = math.log(1 + (n - holding + 0.5) / (holding + 0.5))
            f = document.count(term)
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(document) / avgdl))
        out.append(score)
    return out


def test_bm25_matches_the_formula():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    documents = [list(rng.choice(words, rng.integers(1, 15))) for _ in range(20)]
    queries = [list(rng.choice(words + ["unseen"], rng.integers(1, 5))) for _ in range(6)]
    scores = bm25_scores(queries, documents, k1=1.2, b=0.6)
    assert scores.shape == (6, 20)
    for row, query in enumerate(queries):
        np.testing.assert_allclose(scores[row], bm25_reference(query, documents, 1.2, 0.6),
                                   rtol=1e-12)


def test_code_words_split_identifiers():
    assert code_words("getHTTPResponse_code(x2) + self.max_len") == [
        "get", "http", "response", "code", "x", "2", "self", "max", "len"]


def test_ranking_metrics_by_hand():
    scores = np.array([[0.9, 0.1, 0.5],    # relevant 0 -> rank 0
                       [0.9, 0.1, 0.5],    # relevant 2 -> rank 1
                       [0.2, 0.2, 0.2]])   # relevant 1, all tied -> rank 2 (pessimistic)
    relevant = np.array([0, 2, 1])
    np.testing.assert_array_equal(relevant_ranks(scores, relevant), [0, 1, 2])
    metrics = ranking_metrics(scores, relevant, recall_at=(1, 2), cutoff=2)
    assert metrics["recall@1"] == pytest.approx(1 / 3)
    assert metrics["recall@2"] == pytest.approx(2 / 3)
    assert metrics["mrr@2"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert metrics["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 3)
    with pytest.raises(ValueError, match=r"\[Q, N\]"):
        ranking_metrics(scores[0], relevant)
