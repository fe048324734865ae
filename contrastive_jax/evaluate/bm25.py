"""Okapi BM25, the non-learned retrieval baseline (Robertson & Zaragoza, 2009).

    scores = bm25_scores(queries, documents)   # lists of token lists -> [Q, N]

``score(q, d) = sum_{t in q} idf(t) * f(t, d) (k1 + 1) / (f(t, d) + k1 (1 - b + b |d| / avgdl))``
with ``idf(t) = log(1 + (N - n_t + 0.5) / (n_t + 0.5))`` (Lucene's, never negative), ``f`` the
term's count in the document, ``n_t`` the number of documents holding it; a query term counts
once per occurrence. ``code_words`` tokenizes code and prose alike (identifiers split at
underscores and camelCase, lower-cased).
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np


def code_words(text: str) -> list[str]:
    """``"getHTTPResponse_code(x)" -> ["get", "http", "response", "code", "x"]``."""
    words = []
    for token in re.findall(r"[A-Za-z0-9]+", text):
        words += re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", token)
    return [w.lower() for w in words]


def bm25_scores(queries: Sequence[Sequence[str]], documents: Sequence[Sequence[str]], *,
                k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """float64 [Q, N]: the BM25 score of every document for every query (token lists)."""
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, document in enumerate(documents):
        for word in document:
            rows.append(row)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                               shape=(len(documents), len(vocabulary)))  # duplicates summed
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    holding = np.bincount(counts.indices, minlength=len(vocabulary))
    idf = np.log1p((len(documents) - holding + 0.5) / (holding + 0.5))
    norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1e-12))
    weighted = counts.tocoo()
    values = weighted.data * (k1 + 1) / (weighted.data + norm[weighted.row]) * idf[weighted.col]
    term_weights = sparse.csr_matrix((values, (weighted.row, weighted.col)), shape=counts.shape)
    query_counts = sparse.lil_matrix((len(queries), len(vocabulary)))
    for row, query in enumerate(queries):
        for word in query:
            if word in vocabulary:
                query_counts[row, vocabulary[word]] += 1
    return np.asarray((query_counts.tocsr() @ term_weights.T).todense())
