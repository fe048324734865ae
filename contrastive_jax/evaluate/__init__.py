"""Evaluation of learned representations, on arrays and an embed function.

* ``knn_accuracy`` / ``knn_predict``: weighted cosine kNN (InstDisc, DINO).
* ``linear_probe``: L2-regularized multinomial logistic regression, L2 chosen on a validation
  split, full-batch L-BFGS in JAX.
* ``zero_shot_accuracy``: CLIP-style classification from class text embeddings.
* ``retrieval_recall``: image<->text Recall@K.
* ``alignment``, ``uniformity``, ``rankme``, ``per_dimension_std``,
  ``representation_diagnostics``: label-free health checks of an embedding.
* ``plot_embedding``, ``plot_metrics``: PNGs.
* ``KnnEvaluator``, ``LinearProbeEvaluator``, ``ZeroShotEvaluator``, ``RetrievalEvaluator``
  and ``embed_dataset``: big_vision-style evaluators, ``run(model)`` yields (name, value).

Nothing here imports ``contrastive_jax.train``.
"""

from contrastive_jax.evaluate.diagnostics import (
    alignment,
    per_dimension_std,
    rankme,
    representation_diagnostics,
    uniformity,
)
from contrastive_jax.evaluate.evaluators import (
    KnnEvaluator,
    LinearProbeEvaluator,
    RetrievalEvaluator,
    ZeroShotEvaluator,
    embed_dataset,
)
from contrastive_jax.evaluate.knn import knn_accuracy, knn_predict, l2_normalize
from contrastive_jax.evaluate.linear_probe import (
    DEFAULT_L2_GRID,
    LinearModel,
    fit_linear_model,
    linear_probe,
    predict_logits,
)
from contrastive_jax.evaluate.plots import plot_embedding, plot_metrics
from contrastive_jax.evaluate.retrieval import retrieval_ranks, retrieval_recall
from contrastive_jax.evaluate.zero_shot import (
    class_embeddings,
    zero_shot_accuracy,
    zero_shot_logits,
)

__all__ = [
    "DEFAULT_L2_GRID",
    "KnnEvaluator",
    "LinearModel",
    "LinearProbeEvaluator",
    "RetrievalEvaluator",
    "ZeroShotEvaluator",
    "alignment",
    "class_embeddings",
    "embed_dataset",
    "fit_linear_model",
    "knn_accuracy",
    "knn_predict",
    "l2_normalize",
    "linear_probe",
    "per_dimension_std",
    "plot_embedding",
    "plot_metrics",
    "predict_logits",
    "rankme",
    "representation_diagnostics",
    "retrieval_ranks",
    "retrieval_recall",
    "uniformity",
    "zero_shot_accuracy",
    "zero_shot_logits",
]
