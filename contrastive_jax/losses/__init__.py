"""Objectives for contrastive and self-supervised learning: pure functions on embeddings.

Every loss is ``fn(arrays..., *, hyperparameters, axis_name=None) -> scalar``: keyword-only
hyperparameters with the paper's defaults, the mean over anchors, logits in float32 (or wider),
and, where negatives or batch statistics are involved, ``axis_name`` to take them from every
device inside ``jax.shard_map``. Each docstring gives the formula, ``Args:`` with shapes,
``Returns:``, a runnable ``Examples:`` block (run as a doctest by the suite) and the paper.

The similarity losses (``info_nce``, ``nt_xent``, ``dcl``, ``dclw``, ``clip``, ``siglip``,
``supcon``) are each written once, on the statistics of ``softmax_statistics`` (or
``sigmoid_row_sums``; ``similarity.py``): the same call gives the dense form (``block_size=None``)
and the exact memory-efficient form (``block_size=k``, ``blockwise.py``) that never materializes
the [B, B] logits and across devices streams the keys around a ring of ``ppermute`` steps
(``cross_device="ring"``, ``ring.py``) or all-gathers them (``"all_gather"``). A new loss written
on them gets ``block_size`` by construction.

``OBJECTIVES`` names the losses; ``HELPERS`` the public building blocks a new loss is written with
(statistics, two-view helpers, cross-device gathering and reductions).
"""

from contrastive_jax.losses._common import (
    gather_rows, global_count, global_mean, global_sum, l2_normalize, masked_logsumexp, row_offset,
    two_view_logits)
from contrastive_jax.losses.alignment_uniformity import alignment, uniformity
from contrastive_jax.losses.amcl import amcl, amcl_info_nce, amcl_temperature
from contrastive_jax.losses.barlow_twins import barlow_twins
from contrastive_jax.losses.cleanclip import cleanclip
from contrastive_jax.losses.cacr import cacr
from contrastive_jax.losses.clip import clip
from contrastive_jax.losses.dbpm import (
    bad_pairs, dbpm_loss, dbpm_weights, memory_statistics, update_memory)
from contrastive_jax.losses.dense_retrieval import dense_retrieval_info_nce, star_hard_negative_loss
from contrastive_jax.losses.dcl import dcl, dclw
from contrastive_jax.losses.debcse import debcse, debcse_weights, token_jaccard
from contrastive_jax.losses.debiased import debiased_info_nce, hard_negative_info_nce
from contrastive_jax.losses.dino import dino, dino_center
from contrastive_jax.losses.feature_transformation import (
    feature_transformation_draws, feature_transformation_info_nce)
from contrastive_jax.losses.gcool import gcool
from contrastive_jax.losses.grace import grace
from contrastive_jax.losses.groco import groco
from contrastive_jax.losses.infonce import info_nce, nt_xent, queue_info_nce
from contrastive_jax.losses.mcl import mcl_nt_xent
from contrastive_jax.losses.mochi import mochi_negatives
from contrastive_jax.losses.multiview import multiview_info_nce, mv_dhel
from contrastive_jax.losses.mw_auc import mw_auc
from contrastive_jax.losses.negative_cosine import negative_cosine
from contrastive_jax.losses.negclip import negclip
from contrastive_jax.losses.pot import pot
from contrastive_jax.losses.protoclip import back_translate, kmeans, prototype_loss, protoclip
from contrastive_jax.losses.siglip import siglip
from contrastive_jax.losses.soft_clip import soft_target_clip
from contrastive_jax.losses.sogclr import isogclr, sogclr
from contrastive_jax.losses.similarity import (
    SoftmaxStatistics, sigmoid_row_sums, softmax_statistics, two_view_statistics)
from contrastive_jax.losses.supcon import supcon
from contrastive_jax.losses.supremix import supremix
from contrastive_jax.losses.swav import sinkhorn, swav
from contrastive_jax.losses.triplet import triplet_margin
from contrastive_jax.losses.ts2vec import hierarchical_contrastive_loss
from contrastive_jax.losses.vicreg import vicreg
from contrastive_jax.losses.whitenedcse import (
    group_permutations, inverse_sqrt_psd, shuffled_group_whitening, whitenedcse)
from contrastive_jax.losses.wmse import wmse

# The objectives: pure loss functions, each with its paper.
OBJECTIVES = (
    "alignment",
    "amcl",
    "amcl_info_nce",
    "barlow_twins",
    "cleanclip",
    "cacr",
    "clip",
    "dbpm_loss",
    "dcl",
    "dclw",
    "debcse",
    "debiased_info_nce",
    "dense_retrieval_info_nce",
    "dino",
    "dino_center",
    "feature_transformation_info_nce",
    "gcool",
    "grace",
    "groco",
    "hard_negative_info_nce",
    "hierarchical_contrastive_loss",
    "info_nce",
    "isogclr",
    "mcl_nt_xent",
    "mochi_negatives",
    "multiview_info_nce",
    "mv_dhel",
    "mw_auc",
    "negative_cosine",
    "negclip",
    "nt_xent",
    "pot",
    "prototype_loss",
    "protoclip",
    "queue_info_nce",
    "siglip",
    "sinkhorn",
    "soft_target_clip",
    "sogclr",
    "star_hard_negative_loss",
    "supcon",
    "supremix",
    "swav",
    "triplet_margin",
    "uniformity",
    "vicreg",
    "whitenedcse",
    "wmse",
)
# The building blocks a new loss is written with (see ``similarity.py``).
HELPERS = (
    "SoftmaxStatistics",
    "back_translate",
    "bad_pairs",
    "dbpm_weights",
    "memory_statistics",
    "update_memory",
    "amcl_temperature",
    "feature_transformation_draws",
    "gather_rows",
    "global_count",
    "global_mean",
    "global_sum",
    "kmeans",
    "l2_normalize",
    "masked_logsumexp",
    "row_offset",
    "sigmoid_row_sums",
    "softmax_statistics",
    "two_view_logits",
    "two_view_statistics",
    "debcse_weights",
    "token_jaccard",
    "group_permutations",
    "inverse_sqrt_psd",
    "shuffled_group_whitening",
)
__all__ = [*OBJECTIVES, *HELPERS]
