"""SigLIP: pairwise sigmoid loss for language-image pre-training."""

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common, blockwise


def siglip(image, text, *, logit_scale, logit_bias, normalize=True, axis_name=None,
           block_size=None, cross_device="ring"):
    """SigLIP loss: every image-text pair is an independent binary classification.

    ``L = -(1/B) sum_{i,j} log sigmoid( y_ij (s * <x_i, y_j> + b) )``, ``y_ij = +1`` if i == j
    else -1, summed over all B x B pairs and divided by the (global) batch size B.

    Shapes: image, text: [B, D]; logit_scale, logit_bias: scalars used as given (not
    exponentiated: pass ``exp(t')``; the paper initializes t' = log 10 and b = -10).
    ``axis_name``: local images are paired with the texts of every device, the per-device sums are
    added and divided by the global B, so the value equals the full-batch loss.

    ``block_size``: the exact memory-efficient form (``losses.blockwise``): texts are streamed in
    blocks, O(B D + B block_size) memory; with ``axis_name`` they travel around a ring of
    ``ppermute`` steps as in the paper's chunked implementation (``cross_device="ring"``) or are
    all-gathered (``"all_gather"``).

    Paper: "Sigmoid Loss for Language Image Pre-Training", Zhai et al., 2023 (ICCV).
    """
    if block_size is not None:
        x, y = _common.prepare(image, normalize), _common.prepare(text, normalize)
        own = _common.row_offset(x.shape[0], axis_name) + jnp.arange(x.shape[0])
        rows = blockwise.sigmoid_row_sums(
            _common.upcast(logit_scale) * x, y, _common.upcast(logit_bias), block_size=block_size,
            target=own, axis_name=axis_name, cross_device=cross_device)
        return (_common.global_sum(jnp.sum(rows), axis_name)
                / _common.global_count(x.shape[0], axis_name))
    x = _common.prepare(image, normalize)
    y = _common.gather_rows(_common.prepare(text, normalize), axis_name)
    logits = _common.upcast(logit_scale) * (x @ y.T) + _common.upcast(logit_bias)
    own = _common.row_offset(x.shape[0], axis_name) + jnp.arange(x.shape[0])
    signs = jnp.where(jnp.arange(y.shape[0]) == own[:, None], 1.0, -1.0)
    local_sum = -jnp.sum(jax.nn.log_sigmoid(signs * logits))
    return _common.global_sum(local_sum, axis_name) / y.shape[0]
