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
