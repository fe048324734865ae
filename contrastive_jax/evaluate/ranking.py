"""Ranking metrics of one relevant item per query: MRR@k, Recall@k, nDCG@k.

    metrics = ranking_metrics(scores, relevant)   # scores: [Q, N], relevant: int [Q]

With a single relevant item at 0-based rank r (the number of items scored strictly higher;
ties count against the query, so a constant scorer gets no credit): ``MRR@k = mean[1 / (r + 1)
if r < k]``, ``Recall@k = mean[r < k]``, ``nDCG@k = mean[1 / log2(r + 2) if r < k]`` (the ideal
DCG is 1).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def relevant_ranks(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """int [Q]: how many items score at least as high as the relevant one, less itself (ties
    ranked pessimistically)."""
    scores = np.asarray(scores, np.float64)
    relevant = np.asarray(relevant)
    if scores.ndim != 2 or relevant.shape != (scores.shape[0],):
        raise ValueError(f"scores must be [Q, N] and relevant [Q]; got {scores.shape} and "
                         f"{relevant.shape}.")
    target = scores[np.arange(len(relevant)), relevant][:, None]
    return (scores >= target).sum(axis=1) - 1


def ranking_metrics(scores: np.ndarray, relevant: np.ndarray, *,
                    recall_at: Sequence[int] = (1, 5, 10), cutoff: int = 10) -> dict[str, float]:
    """``mrr@{cutoff}``, ``ndcg@{cutoff}`` and ``recall@k`` for each k (see the module
    docstring)."""
    ranks = relevant_ranks(scores, relevant)
    hit = ranks < cutoff
    metrics = {f"mrr@{cutoff}": float(np.mean(np.where(hit, 1.0 / (ranks + 1), 0.0))),
               f"ndcg@{cutoff}": float(np.mean(np.where(hit, 1.0 / np.log2(ranks + 2), 0.0)))}
    metrics.update({f"recall@{k}": float(np.mean(ranks < k)) for k in recall_at})
    return metrics
