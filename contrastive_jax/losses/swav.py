"""SwAV: Sinkhorn-Knopp cluster assignments and the swapped-prediction loss."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common


def sinkhorn(scores, *, epsilon=0.05, iterations=3, axis_name=None):
    """Equipartitioned soft assignments of samples to prototypes (SwAV's Sinkhorn-Knopp).

    Starting from ``Q = exp(scores / epsilon)``, each iteration rescales every prototype column to
    the same total mass over the (global) batch, then every sample row to sum to 1. Runs in log
    space. With ``iterations=0`` this is ``softmax(scores / epsilon)``.

    Shapes: scores: [B, K] (sample-prototype similarities). Returns Q: [B, K], rows sum to 1,
    stop-gradient (codes are targets). ``axis_name``: the column normalization spans the batch of
    every device, so the result equals the single-device one on the concatenated batch.

    Paper: "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments",
    Caron et al., 2020 (NeurIPS).
    """
    log_q = jax.lax.stop_gradient(_common.upcast(scores)) / epsilon
    for _ in range(iterations):
        log_q = log_q - _common.global_logsumexp(log_q, 0, axis_name)
        log_q = log_q - jax.nn.logsumexp(log_q, axis=1, keepdims=True)
    return jax.lax.stop_gradient(jax.nn.softmax(log_q, axis=1))


def swav(scores, assign_from, *, temperature=0.1, epsilon=0.05, iterations=3, axis_name=None):
    """SwAV swapped prediction: predict crop c's Sinkhorn code from every other crop's scores.

    ``L = mean_{c in assign_from} mean_{v != c} mean_b [ -sum_k q_c[b, k] log softmax_k(scores[v, b] / t) ]``
    with ``q_c = sinkhorn(scores[c])`` (stop-gradient).

    Shapes: scores: [V, B, K] prototype scores of all V crops (V >= 2; typically <z, c_k> of
    normalized features and prototypes); assign_from: sequence of crop indices whose codes are
    targets, e.g. (0, 1) for the two full-resolution crops. Returns a scalar.
    ``axis_name``: Sinkhorn normalizes over the global batch and the mean is global.

    Paper: "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments",
    Caron et al., 2020 (NeurIPS).
    """
    num_crops = scores.shape[0]
    assign_from = tuple(assign_from)
    if num_crops < 2 or not assign_from or any(not 0 <= c < num_crops for c in assign_from):
        raise ValueError(
            f"swav needs scores [V >= 2, B, K] and crop indices in [0, V); got V={num_crops}, "
            f"assign_from={assign_from}.")
    x = _common.upcast(scores)
    log_p = jax.nn.log_softmax(x / temperature, axis=-1)
    per_crop = []
    for c in assign_from:
        q = sinkhorn(x[c], epsilon=epsilon, iterations=iterations, axis_name=axis_name)
        cross_entropy = -jnp.mean(jnp.sum(q[None] * log_p, axis=-1), axis=-1)  # [V]
        per_crop.append((jnp.sum(cross_entropy) - cross_entropy[c]) / (num_crops - 1))
    return _common.global_mean(jnp.mean(jnp.stack(per_crop)), axis_name)
