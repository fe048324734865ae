"""Query -> document retrieval of a held-out split of pairs, and its BM25 baseline.

    pair_retrieval_metrics(query_features, document_features)  # each query's own document
    bm25_pair_metrics(queries, documents)                      # the same, scored by BM25

Query ``i``'s one relevant document is document ``i``; every document of the split is a
candidate. Learned scores are cosine similarities. The metrics are ``evaluate.ranking``'s
(MRR@10, nDCG@10, Recall@1/5/10) plus, for learned embeddings, Wang & Isola's alignment
(``E ||q_i - d_i||^2`` of the normalized pairs) and uniformity (``log E exp(-2 ||x - y||^2)``
over the normalized documents): "Understanding Contrastive Representation Learning through
Alignment and Uniformity on the Hypersphere", Wang & Isola, 2020.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from contrastive_jax.evaluate.bm25 import bm25_scores, code_words
from contrastive_jax.evaluate.diagnostics import alignment, uniformity
from contrastive_jax.evaluate.ranking import ranking_metrics


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pair_retrieval_metrics(query_features: np.ndarray,
                           document_features: np.ndarray) -> dict[str, float]:
    """``mrr@10, ndcg@10, recall@1/5/10, alignment, uniformity`` of [N, D] query and document
    features (row ``i`` of each is a pair)."""
    q, d = np.asarray(query_features), np.asarray(document_features)
    if q.shape[0] != d.shape[0]:
        raise ValueError(f"{q.shape[0]} queries for {d.shape[0]} documents.")
    metrics = ranking_metrics(_unit(q) @ _unit(d).T, np.arange(len(q)))
    metrics["alignment"] = float(alignment(q, d))
    metrics["uniformity"] = float(uniformity(d)) if len(d) > 1 else float("nan")
    return metrics


def bm25_pair_metrics(queries: Sequence[str], documents: Sequence[str]) -> dict[str, float]:
    """The ranking metrics of Okapi BM25 (``evaluate.bm25``, code-aware words) on the pairs."""
    scores = bm25_scores([code_words(t) for t in queries], [code_words(t) for t in documents])
    return ranking_metrics(scores, np.arange(len(queries)))


def sentence_group_metrics(features: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """A sentence-similarity proxy: does a sentence retrieve another sentence of its own group
    (the docstring it comes from)?

    Every sentence whose group has another held-out sentence is a query; the candidates are all
    other sentences (itself excluded), scored by cosine. Its relevant item is its group's
    best-scored other sentence, so ``recall@1`` is the share of queries whose nearest sentence
    is of their group and ``mrr@10`` the mean of ``1 / (rank of the first same-group sentence)``
    (0 beyond 10); ties count against the query (``evaluate.ranking``). Plus Wang & Isola's
    ``alignment`` (``E ||x_i - x_j||^2`` over every same-group pair i < j, normalized) and
    ``uniformity`` (over all sentences), and ``queries`` (their number).

    features: [N, D]; groups: int [N] (the group of each sentence)."""
    x = _unit(features)
    groups = np.asarray(groups)
    if groups.shape != (len(x),):
        raise ValueError(f"groups must be [N] = [{len(x)}], got {groups.shape}.")
    same = groups[:, None] == groups[None, :]
    np.fill_diagonal(same, False)
    queries = np.flatnonzero(same.any(axis=1))
    if len(queries) == 0:
        raise ValueError("no held-out group has two sentences: the proxy needs groups of >= 2.")
    scores = x[queries] @ x.T
    scores[np.arange(len(queries)), queries] = -np.inf  # a sentence never retrieves itself
    relevant = np.argmax(np.where(same[queries], scores, -np.inf), axis=1)
    metrics = ranking_metrics(scores, relevant)
    first, second = np.nonzero(np.triu(same))
    metrics["alignment"] = float(alignment(x[first], x[second]))
    metrics["uniformity"] = float(uniformity(x))
    metrics["queries"] = int(len(queries))
    return metrics
