"""Objectives for contrastive and self-supervised learning: pure functions on embeddings.

Every loss is ``fn(arrays..., *, hyperparameters, axis_name=None) -> scalar``: keyword-only
hyperparameters with the paper's defaults, the mean over anchors, logits in float32 (or wider),
and, where negatives or batch statistics are involved, ``axis_name`` to take them from every
device inside ``jax.shard_map``. Each docstring gives the formula, the shapes and the paper.

The similarity losses (``info_nce``, ``nt_xent``, ``dcl``, ``dclw``, ``clip``, ``siglip``,
``supcon``) also take ``block_size``: the exact memory-efficient form (``blockwise.py``) that never
materializes the [B, B] logits, and across devices streams the keys around a ring of ``ppermute``
steps (``cross_device="ring"``, ``ring.py``) or all-gathers them (``"all_gather"``).
"""

from contrastive_jax.losses.alignment_uniformity import alignment, uniformity
from contrastive_jax.losses.barlow_twins import barlow_twins
from contrastive_jax.losses.clip import clip
from contrastive_jax.losses.dcl import dcl, dclw
from contrastive_jax.losses.debiased import debiased_info_nce, hard_negative_info_nce
from contrastive_jax.losses.infonce import info_nce, nt_xent
from contrastive_jax.losses.mochi import mochi_negatives
from contrastive_jax.losses.multiview import multiview_info_nce, mv_dhel
from contrastive_jax.losses.mw_auc import mw_auc
from contrastive_jax.losses.negative_cosine import negative_cosine
from contrastive_jax.losses.siglip import siglip
from contrastive_jax.losses.supcon import supcon
from contrastive_jax.losses.swav import sinkhorn, swav
from contrastive_jax.losses.triplet import triplet_margin
from contrastive_jax.losses.vicreg import vicreg
from contrastive_jax.losses.wmse import wmse

__all__ = [
    "alignment",
    "barlow_twins",
    "clip",
    "dcl",
    "dclw",
    "debiased_info_nce",
    "hard_negative_info_nce",
    "info_nce",
    "mochi_negatives",
    "multiview_info_nce",
    "mv_dhel",
    "mw_auc",
    "negative_cosine",
    "nt_xent",
    "siglip",
    "sinkhorn",
    "supcon",
    "swav",
    "triplet_margin",
    "uniformity",
    "vicreg",
    "wmse",
]
