"""Evaluation of learned representations: streamed features, and metrics on feature arrays.

* ``knn_accuracy`` / ``knn_predict``: weighted cosine kNN (InstDisc, DINO).
* ``low_label_scores``: linear probe and kNN from k labelled examples per class, R draws.
* ``linear_probe``: L2-regularized multinomial logistic regression, L2 chosen on a validation
  split, full-batch L-BFGS in JAX.
* ``svm_accuracy`` / ``fit_svm``: TS2Vec's RBF SVM with C by 5-fold grid search.
* ``zero_shot_accuracy``: CLIP-style classification from class text embeddings.
* ``retrieval_recall``: image<->text Recall@K.
* ``order_accuracy`` / ``OrderEvaluator``: caption vs its word-swapped caption (composites).
* ``ridge_probe`` / ``RidgeProbeEvaluator``: held-out ridge regression (MAE, R^2) of a
  regression source's float targets.
* ``alignment``, ``uniformity``, ``rankme``, ``per_dimension_std``,
  ``representation_diagnostics``: label-free health checks of an embedding.
* ``plot_embedding``, ``plot_metrics``: PNGs.
* ``embed_split``, ``SplitFeatures``: a split's features ``[N, D]`` from streamed
  ``(batch, num_valid)`` batches (only features stay on the host), embedded once per encoder;
  ``embed_dataset`` / ``array_batches`` for arrays already in memory.
* ``KnnEvaluator``, ``LinearProbeEvaluator``, ``SvmEvaluator``, ``DiagnosticsEvaluator``,
  ``ZeroShotEvaluator``,
  ``RetrievalEvaluator``: big_vision-style evaluators over streamed batches, ``run(model)``
  yields (name, value); ``evaluators_from_config`` and ``table_row`` build the final table.

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
    DiagnosticsEvaluator,
    KnnEvaluator,
    LinearProbeEvaluator,
    LowLabelEvaluator,
    RetrievalEvaluator,
    SvmEvaluator,
    ZeroShotEvaluator,
    embed_texts,
    table_row,
)
from contrastive_jax.evaluate.evaluators import from_config as evaluators_from_config
from contrastive_jax.evaluate.features import (
    RelabeledFeatures,
    SplitFeatures,
    array_batches,
    embed_dataset,
    embed_split,
    with_labels,
)
from contrastive_jax.evaluate.knn import knn_accuracy, knn_predict, l2_normalize
from contrastive_jax.evaluate.linear_probe import (
    DEFAULT_L2_GRID,
    LinearModel,
    fit_linear_model,
    linear_probe,
    predict_logits,
)
from contrastive_jax.evaluate.low_label import draw_shots, low_label_scores
from contrastive_jax.evaluate.order import OrderEvaluator, order_accuracy
from contrastive_jax.evaluate.regression import RidgeProbeEvaluator, ridge_probe
from contrastive_jax.evaluate.plots import plot_embedding, plot_metrics
from contrastive_jax.evaluate.retrieval import retrieval_ranks, retrieval_recall
from contrastive_jax.evaluate.svm import fit_svm, svm_accuracy
from contrastive_jax.evaluate.zero_shot import (
    class_embeddings,
    zero_shot_accuracy,
    zero_shot_logits,
)

__all__ = [
    "DEFAULT_L2_GRID",
    "DiagnosticsEvaluator",
    "KnnEvaluator",
    "LinearModel",
    "LinearProbeEvaluator",
    "LowLabelEvaluator",
    "RelabeledFeatures",
    "OrderEvaluator",
    "RetrievalEvaluator",
    "RidgeProbeEvaluator",
    "SplitFeatures",
    "SvmEvaluator",
    "ZeroShotEvaluator",
    "alignment",
    "array_batches",
    "class_embeddings",
    "draw_shots",
    "embed_dataset",
    "embed_split",
    "embed_texts",
    "evaluators_from_config",
    "fit_linear_model",
    "fit_svm",
    "knn_accuracy",
    "knn_predict",
    "l2_normalize",
    "low_label_scores",
    "linear_probe",
    "order_accuracy",
    "per_dimension_std",
    "plot_embedding",
    "plot_metrics",
    "predict_logits",
    "rankme",
    "representation_diagnostics",
    "retrieval_ranks",
    "retrieval_recall",
    "ridge_probe",
    "svm_accuracy",
    "table_row",
    "uniformity",
    "with_labels",
    "zero_shot_accuracy",
    "zero_shot_logits",
]
