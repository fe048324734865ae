"""MCL's feature-aware negative sampling: NT-Xent whose negatives share the anchor's cluster.

Multistage Contrastive Learning trains in stages; in stage s > 0 an anchor's negatives are drawn
only from the cluster it was assigned to by k-means on the earlier stages' representations, so
the features those stages already separate (the cluster) cannot lower the loss and the stage
has to learn features they suppressed. The released code makes every batch out of one cluster
(a batch sampler over pseudo-labels); here a random batch is masked instead: anchor a's
negatives are the views of the other examples of the (global) batch with a's cluster id. With
one cluster id everywhere this is ``nt_xent``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def mcl_nt_xent(z1: jax.Array, z2: jax.Array, cluster: jax.Array, *, temperature: float = 0.5,
                normalize: bool = True, axis_name: str | None = None) -> jax.Array:
    """NT-Xent over the 2B views with each anchor's negatives restricted to its cluster.

    ``L = mean_a [ -s(a, p_a) / t + log( exp(s(a, p_a) / t) + sum_{k in N_a} exp(s(a, k) / t) ) ]``
    over the 2B anchors ``a`` in ``[z1; z2]``; ``p_a`` is a's other view and ``N_a`` the views of
    the other examples j with ``cluster[j] == cluster[i(a)]`` (s: cosine similarity). An anchor
    alone in its cluster has only its positive and contributes exactly 0; with all ids equal
    this is ``nt_xent``.

    ``block_size`` is not offered: the cluster mask is not one of ``softmax_statistics``'s
    exclusions; the loss is dense, [2b, 2B] logits per device.

    Args:
      z1: [B, D] first views.
      z2: [B, D] second views of the same B examples.
      cluster: [B] int cluster id of each example (the previous stages' k-means assignment;
        ids are compared for equality only).
      temperature: logits are ``cos / temperature`` (default 0.5, SimCLR's; the released MCL
        code keeps its base method's loss and temperature).
      normalize: L2-normalize the views first (default True).
      axis_name: mesh axis inside ``jax.shard_map``; the views and cluster ids of every device
        are candidates. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the 2B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> z2 = jnp.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]])
      >>> print(f"{float(losses.mcl_nt_xent(z1, z2, jnp.array([0, 0, 0]))):.4f}")
      1.0826
      >>> print(f"{float(losses.mcl_nt_xent(z1, z2, jnp.array([0, 1, 0]))):.4f}")
      0.5413

    Paper: "Learning the Unlearned: Mitigating Feature Suppression in Contrastive Learning",
    Zhang et al., 2024 (ECCV).
    """
    a1, a2 = _common.prepare(z1, normalize), _common.prepare(z2, normalize)
    local = a1.shape[0]
    anchors = jnp.concatenate([a1, a2], axis=0)  # [2b, D]
    cluster = jnp.asarray(cluster, jnp.int32).reshape(local)
    anchor_cluster = jnp.concatenate([cluster, cluster])
    keys = _common.gather_rows(anchors, axis_name)  # device d's rows: [z1_d; z2_d]
    key_cluster = _common.gather_rows(anchor_cluster, axis_name)
    rows = _common.row_offset(2 * local, axis_name) + jnp.arange(2 * local)
    other_view = rows + jnp.where(jnp.arange(2 * local) < local, local, -local)
    logits = (anchors / temperature) @ keys.T  # [2b, 2B]
    col = jnp.arange(keys.shape[0])[None, :]
    keep = (col != rows[:, None]) & (key_cluster[None, :] == anchor_cluster[:, None])
    lse = _common.masked_logsumexp(logits, keep)
    positive = _common.masked_select_sum(logits, col == other_view[:, None])
    return _common.global_mean(jnp.mean(lse - positive), axis_name)
