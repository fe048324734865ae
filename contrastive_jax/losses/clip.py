"""CLIP's symmetric image-text contrastive loss."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, blockwise


def _cross_entropy_to_matching(queries, keys, logit_scale, axis_name):
    """Mean over local queries of -log softmax(scale * q.k)[own index] over all (global) keys."""
    logits = logit_scale * (queries @ _common.gather_rows(keys, axis_name).T)
    own = _common.row_offset(queries.shape[0], axis_name) + jnp.arange(queries.shape[0])
    matched = jnp.take_along_axis(logits, own[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - matched)


def _blockwise_clip(x, y, scale, block_size, axis_name, cross_device):
    """Both directions from one pass over the tiles of ``s * x y^T`` (rows and columns)."""
    own = _common.row_offset(x.shape[0], axis_name) + jnp.arange(x.shape[0])
    stats = blockwise.softmax_statistics(
        scale * x, y, block_size=block_size, target=own, columns=True, axis_name=axis_name,
        cross_device=cross_device)
    matched = stats.positive_sum  # the same float32 logits as in the log-sum-exps: B = 1 gives 0
    return 0.5 * (jnp.mean(stats.row_lse - matched) + jnp.mean(stats.column_lse - matched))


def clip(image, text, *, logit_scale, normalize=True, axis_name=None, block_size=None,
         cross_device="ring"):
    """CLIP loss: mean of the image->text and text->image cross-entropies of the matched pairs.

    ``L = 1/2 [ mean_i CE(softmax_j(s * <x_i, y_j>), i) + mean_j CE(softmax_i(s * <x_i, y_j>), j) ]``

    Shapes: image, text: [B, D]; logit_scale: scalar. ``logit_scale`` multiplies the cosine
    similarities as given: it is NOT exponentiated here, so pass ``exp(learned_log_scale)``
    (CLIP initializes the log scale to log(1 / 0.07) and clips the scale at 100).
    B = 1 gives exactly 0. ``axis_name``: texts/images of every device are the candidates.

    ``block_size``: stream over blocks of that many texts (``losses.blockwise``): O(B D + B
    block_size) memory instead of O(B^2), same value and gradients; with ``axis_name`` the
    texts travel around a ring (``cross_device="ring"``) or are all-gathered (``"all_gather"``).

    Paper: "Learning Transferable Visual Models From Natural Language Supervision",
    Radford et al., 2021.
    """
    x, y = _common.prepare(image, normalize), _common.prepare(text, normalize)
    scale = _common.upcast(logit_scale)
    if block_size is not None:
        loss = _blockwise_clip(x, y, scale, block_size, axis_name, cross_device)
        return _common.global_mean(loss, axis_name)
    loss = 0.5 * (_cross_entropy_to_matching(x, y, scale, axis_name)
                  + _cross_entropy_to_matching(y, x, scale, axis_name))
    return _common.global_mean(loss, axis_name)
