"""Memory-efficient exact similarity losses: the two kernels every ``block_size=`` form uses.

A contrastive loss over M queries and N keys needs the [M, N] similarity matrix ``S = Q K^T``
only through a few per-row (and per-column) statistics. The kernels stream over blocks of
``block_size`` keys, keep those statistics in O(M + N) memory and, through a ``jax.custom_vjp``,
save only the inputs and the statistics (O((M + N) D)) for the backward pass, which recomputes
each [M, block_size] tile of S to form ``dQ`` and ``dK``. Memory: O((M + N) D + M block_size),
never O(M N). Work: one tile matmul forward, three backward (recompute S, ``dS K``, ``dS^T Q``),
i.e. 8 M N D FLOPs for the value and both gradients instead of the naive form's 6 M N D.

* ``softmax_statistics``: per query ``i``, ``log sum_j exp(S_ij)`` over the kept keys (padding
  and, optionally, the query itself and its target are dropped) as an online log-sum-exp; the
  positive logit ``S_i,target(i)`` (one gathered entry per tile), or the sum and count of
  ``S_ij`` over same-label keys (SupCon); optionally per key ``log sum_i exp(S_ij)`` from the
  same tiles (CLIP's second direction). InfoNCE, NT-Xent, DCL, CLIP and SupCon compose it:
  ``loss_i = row_lse_i - positive_i``, through ``similarity.softmax_statistics``, which gives the
  dense form of the same statistics when ``block_size`` is None.
* ``sigmoid_row_sums``: per query, ``sum_j softplus(-y_ij (S_ij + b))`` with ``y_ij = +1`` for
  the query's target key and -1 elsewhere (SigLIP).

Scales and temperatures are folded into the queries by the caller (``Q = s * X``) and L2
normalization happens before the kernel, so JAX differentiates both; the kernels only see the
prepared float32 (float64 stays float64) embeddings, so logits are float32 for bf16 inputs.

Across devices (``axis_name`` inside ``jax.shard_map``; every device holds M queries, N keys):

* ``cross_device="ring"``: keys travel around a ring with ``jax.lax.ppermute`` in n - 1 steps,
  so a device holds its own keys plus one neighbour's. The backward pass rings too: the gradient
  of each key block (and, in the forward pass, CLIP's partial column log-sum-exp) travels with
  the keys and takes one last step home to its owner (``ring.py``). Choose it when the gathered
  keys (n N D floats per device) would not fit, or to keep per-device memory independent of n.
* ``cross_device="all_gather"``: all-gather the keys once (JAX transposes it into a
  reduce-scatter for ``dK``), then stream over them locally. Fewer, larger collectives: the
  better choice while n N D floats fit easily (small B D per device, as for most contrastive
  heads) and where per-collective latency dominates. ``block_size=None`` is the naive
  all-gather form, which also materializes the [M, n N] logits.

Ideas: online softmax (Milakov & Gimelshein, "Online normalizer calculation for softmax", 2018);
recomputation in the backward pass as in FlashAttention (Dao et al., 2022); keys streamed around
a ring as in Ring Attention (Liu et al., 2023) and SigLIP's chunked loss (Zhai et al., 2023).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from contrastive_jax.losses import ring


class _Config(NamedTuple):
    """Static description of a kernel call (hashable: it is a ``nondiff_argnums`` argument)."""

    kind: str  # "softmax" or "sigmoid"
    block_size: int
    exclude_self: bool = False
    exclude_target: bool = False
    target_positive: bool = False  # positive_sum = S[i, target_i]
    label_positives: bool = False  # positive_sum = sum of S[i, j] over same-label j != self
    columns: bool = False
    axis_name: object = None  # mesh axis under shard_map; None when every key is local


class SoftmaxStatistics(NamedTuple):
    """Outputs of ``softmax_statistics`` (M queries, N local keys)."""

    row_lse: jax.Array  # [M] log sum_{kept j} exp(S_ij)
    positive_sum: jax.Array  # [M] S_i,target(i), or the sum over same-label keys j != self
    positive_count: jax.Array  # [M] number of positives (float, no gradient)
    column_lse: jax.Array  # [N] log sum_i exp(S_ij) over all queries of all devices


class _Queries(NamedTuple):
    """Per-query integer data: global key index of self / of the target (-1: none), label."""

    self_index: jax.Array
    target: jax.Array
    label: jax.Array


# --- one [M, block] tile ---------------------------------------------------------------------


def _keep_mask(cfg, qi, k_index, k_valid):
    """[M, bk] keys entering the row log-sum-exp (None: all of them)."""
    keep = None if k_valid is None else k_valid[None, :]
    for on, index in ((cfg.exclude_self, qi.self_index), (cfg.exclude_target, qi.target)):
        if on:
            other = k_index[None, :] != index[:, None]
            keep = other if keep is None else keep & other
    return keep


def _label_positives(qi, k_index, k_label, k_valid):
    positive = k_label[None, :] == qi.label[:, None]
    positive &= k_index[None, :] != qi.self_index[:, None]
    return positive if k_valid is None else positive & k_valid[None, :]


def _logsumexp(x, axis):
    """log-sum-exp that returns -inf (not NaN) for an all -inf slice."""
    shift = jnp.max(x, axis=axis, keepdims=True)
    shift = jnp.where(jnp.isfinite(shift), shift, 0.0)
    return jnp.log(jnp.sum(jnp.exp(x - shift), axis=axis)) + jnp.squeeze(shift, axis)


def _tile_forward(cfg, q, bias, qi, kb, k_index, k_label, k_valid, row, pos, cnt):
    """Statistics of one tile merged into the running row statistics; returns column stats."""
    # One materialized tile: XLA may otherwise recompute a small dot inside each consumer, with
    # different rounding, and a positive logit would no longer cancel its own log-sum-exp term.
    s = jax.lax.optimization_barrier(q @ kb.T)
    keep = _keep_mask(cfg, qi, k_index, k_valid)
    if cfg.kind == "sigmoid":
        z = s + bias
        terms = jax.nn.softplus(jnp.where(k_index[None, :] == qi.target[:, None], -z, z))
        terms = terms if keep is None else jnp.where(keep, terms, 0.0)
        return row + jnp.sum(terms, axis=1), pos, cnt, None
    row = jnp.logaddexp(row, _logsumexp(s if keep is None else jnp.where(keep, s, -jnp.inf), 1))
    if cfg.target_positive:  # one gathered entry per row instead of a masked pass
        column = qi.target - k_index[0]
        hit = (column >= 0) & (column < s.shape[1])
        value = jnp.take_along_axis(s, jnp.clip(column, 0, s.shape[1] - 1)[:, None], axis=1)
        pos, cnt = pos + jnp.where(hit, value[:, 0], 0.0), cnt + hit
    elif cfg.label_positives:
        positive = _label_positives(qi, k_index, k_label, k_valid)
        pos = pos + jnp.sum(jnp.where(positive, s, 0.0), axis=1)
        cnt = cnt + jnp.sum(positive, axis=1, dtype=cnt.dtype)
    col = None
    if cfg.columns:  # over every query: only padding is masked
        col = _logsumexp(s if k_valid is None else jnp.where(k_valid, s, -jnp.inf), axis=0)
    return row, pos, cnt, col


def _tile_backward(cfg, q, bias, qi, kb, k_index, k_label, k_valid, row, g_row, g_pos, col,
                   g_col):
    """``(dq, dkb, dbias)`` contributions of one tile, with S recomputed."""
    s = q @ kb.T
    keep = _keep_mask(cfg, qi, k_index, k_valid)
    is_target = k_index[None, :] == qi.target[:, None]
    if cfg.kind == "sigmoid":
        z = s + bias
        ds = g_row[:, None] * jnp.where(is_target, -jax.nn.sigmoid(-z), jax.nn.sigmoid(z))
        ds = ds if keep is None else jnp.where(keep, ds, 0.0)
    else:
        ds = g_row[:, None] * jnp.exp(s - row[:, None])
        ds = ds if keep is None else jnp.where(keep, ds, 0.0)
        if cfg.columns:
            ds_col = g_col[None, :] * jnp.exp(s - col[None, :])
            ds = ds + (ds_col if k_valid is None else jnp.where(k_valid, ds_col, 0.0))
    if cfg.target_positive:
        ds = ds + jnp.where(is_target, g_pos[:, None], 0.0)
    elif cfg.label_positives:
        ds = ds + jnp.where(_label_positives(qi, k_index, k_label, k_valid), g_pos[:, None], 0.0)
    dbias = jnp.sum(ds) if cfg.kind == "sigmoid" else jnp.zeros((), q.dtype)
    return ds @ kb, ds.T @ q, dbias


# --- a sweep over the blocks of one device's keys --------------------------------------------


class _Blocks(NamedTuple):
    """One device's keys, padded to whole blocks: keys [nb, bk, D], labels [nb, bk]."""

    keys: jax.Array
    labels: jax.Array


def _to_blocks(cfg, k, k_label):
    n, bk = k.shape[0], min(cfg.block_size, k.shape[0])
    nb = -(-n // bk)
    pad = nb * bk - n
    k = jnp.pad(k, ((0, pad), (0, 0)))
    return _Blocks(k.reshape(nb, bk, -1), jnp.pad(k_label, (0, pad)).reshape(nb, bk))


def _block_indices(blocks, num_keys, owner):
    """Global key indices [nb, bk] of ``owner``'s blocks, and their validity (None: no padding)."""
    nb, bk = blocks.labels.shape
    local = jnp.arange(nb * bk).reshape(nb, bk)
    valid = None if nb * bk == num_keys else local < num_keys
    return owner * num_keys + local, valid


def sweep_forward(cfg, q, bias, qi, blocks, num_keys, owner, state):
    """Fold ``owner``'s key blocks into the row statistics ``state = (row, pos, cnt)``.

    Returns the new state and the column log-sum-exp over these queries [nb, bk] (or None).
    """
    index, valid = _block_indices(blocks, num_keys, owner)

    def body(carry, xs):
        kb, lab, idx, ok = xs
        *carry, col = _tile_forward(cfg, q, bias, qi, kb, idx, lab, ok, *carry)
        return tuple(carry), col

    xs = (blocks.keys, blocks.labels, index, valid)
    state, col = jax.lax.scan(body, tuple(state), xs)
    return state, col


def sweep_backward(cfg, q, bias, qi, blocks, num_keys, owner, row, g_row, g_pos, col, g_col,
                   dq, dbias):
    """Add ``owner``'s tiles to ``dq``, ``dbias``; return them and the key gradients [nb, bk, D].

    ``col``, ``g_col``: [nb, bk] column statistics of these keys and their cotangents.
    """
    index, valid = _block_indices(blocks, num_keys, owner)

    def body(carry, xs):
        kb, lab, idx, ok, c, gc = xs
        dq_tile, dkb, db = _tile_backward(cfg, q, bias, qi, kb, idx, lab, ok, row, g_row, g_pos,
                                          c, gc)
        return (carry[0] + dq_tile, carry[1] + db), dkb

    xs = (blocks.keys, blocks.labels, index, valid, col, g_col)
    (dq, dbias), dk = jax.lax.scan(body, (dq, dbias), xs)
    return dq, dbias, dk


# --- the custom VJP --------------------------------------------------------------------------


def _initial_rows(cfg, q):
    # full_like keeps q's type under shard_map (varying over the mesh axis): loop carries must.
    start = -jnp.inf if cfg.kind == "softmax" else 0.0
    return jnp.full_like(q[:, 0], start), jnp.zeros_like(q[:, 0]), jnp.zeros_like(q[:, 0])


def _forward(cfg, q, k, bias, qi, k_label):
    blocks = _to_blocks(cfg, k, k_label)
    args = (cfg, q, bias, qi)
    state = _initial_rows(cfg, q)
    if cfg.axis_name is None:
        state, col = sweep_forward(*args, blocks, k.shape[0], 0, state)
    else:
        state, col = ring.ring_forward(sweep_forward, args, blocks, k.shape[0], state, cfg)
    n = k.shape[0]
    col = col.reshape(-1)[:n] if cfg.columns else jnp.zeros((n,), q.dtype)
    return SoftmaxStatistics(*state, col)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _kernel(cfg, q, k, bias, qi, k_label):
    return _forward(cfg, q, k, bias, qi, k_label)


def _kernel_fwd(cfg, q, k, bias, qi, k_label):
    out = _forward(cfg, q, k, bias, qi, k_label)
    return out, (q, k, bias, qi, k_label, out)  # O((M + N) D): no tile is kept


def _kernel_bwd(cfg, residuals, cotangent):
    q, k, bias, qi, k_label, out = residuals
    blocks = _to_blocks(cfg, k, k_label)
    nb, bk = blocks.labels.shape
    pad = nb * bk - k.shape[0]

    def as_blocks(v):  # padded keys get finite statistics; their tiles are masked anyway
        return jnp.pad(v, (0, pad)).reshape(nb, bk)

    col, g_col = ((as_blocks(out.column_lse), as_blocks(cotangent.column_lse))
                  if cfg.columns else (None, None))
    args = (cfg, q, bias, qi)
    rows = (out.row_lse, cotangent.row_lse, cotangent.positive_sum)
    dq, dbias = jnp.zeros_like(q), jnp.zeros_like(bias)
    if cfg.axis_name is None:
        dq, dbias, dk = sweep_backward(*args, blocks, k.shape[0], 0, *rows, col, g_col, dq, dbias)
    else:
        dq, dbias, dk = ring.ring_backward(sweep_backward, args, blocks, k.shape[0], rows,
                                           (col, g_col), (dq, dbias), cfg)
    dk = dk.reshape(nb * bk, -1)[:k.shape[0]]
    return dq, dk, dbias, None, None


_kernel.defvjp(_kernel_fwd, _kernel_bwd)


# --- entry points ----------------------------------------------------------------------------


def _check(block_size, cross_device):
    if isinstance(block_size, bool) or not (isinstance(block_size, int) and block_size > 0):
        raise ValueError(f"block_size must be a positive int, got {block_size!r}.")
    if cross_device not in ("ring", "all_gather"):
        raise ValueError(f"cross_device must be 'ring' or 'all_gather', got {cross_device!r}.")


def _ints(values, size, fill):
    if values is None:
        return jnp.full((size,), fill, jnp.int32)
    return jnp.broadcast_to(jnp.asarray(values, jnp.int32), (size,))


def _run(cfg, q, k, bias, qi, k_label, cross_device):
    """Run the kernel locally, over a ring, or over all-gathered keys."""
    axis_name = cfg.axis_name
    # Under shard_map, inputs the kernel combines must vary over the same axes as the queries
    # (a replicated bias or key set gets a per-device cotangent, summed by the cast's transpose).
    q = ring.match_varying(q, k)
    k, bias = ring.match_varying(k, q), ring.match_varying(bias, q)
    if axis_name is not None:
        q, k, bias = ring.varying((q, k, bias), axis_name)
    if axis_name is None or cross_device == "ring":
        return _kernel(cfg, q, k, bias, qi, k_label)
    num_local = k.shape[0]
    k = jax.lax.all_gather(k, axis_name, axis=0, tiled=True)
    k_label = jax.lax.all_gather(k_label, axis_name, axis=0, tiled=True)
    out = _kernel(cfg._replace(axis_name=None), q, k, bias, qi, k_label)
    if not cfg.columns:
        return out._replace(column_lse=out.column_lse[:num_local])
    # Partial column statistics over each device's queries, combined across devices.
    partial = out.column_lse  # [n N]: over this device's queries, for every device's keys
    shift = jax.lax.pmax(jax.lax.stop_gradient(partial), axis_name)
    total = jnp.log(jax.lax.psum(jnp.exp(partial - shift), axis_name)) + shift
    start = jax.lax.axis_index(axis_name) * num_local
    return out._replace(column_lse=jax.lax.dynamic_slice_in_dim(total, start, num_local))


def softmax_statistics(queries, keys, *, block_size, self_index=None, target=None,
                       exclude_self=False, exclude_target=False, query_labels=None,
                       key_labels=None, columns=False, axis_name=None, cross_device="ring"):
    """Row log-sum-exp of ``S = queries @ keys^T``, its positives and column log-sum-exp, in blocks.

    ``row_lse_i = log sum_{j kept} exp(S_ij)``; key j is dropped for query i if it is the
    query itself (``exclude_self``: ``j == self_index[i]``) or its target (``exclude_target``).
    ``positive_sum_i = S_i,target[i]`` when ``target`` is given (the same float as inside
    ``row_lse``, so ``row_lse - positive_sum`` is exactly 0 for a lone candidate), else, with
    labels, ``sum_{j != self, label_j = label_i} S_ij`` with its count. With ``columns``:
    ``column_lse_j = log sum_i exp(S_ij)`` over the queries of every device (no masks; CLIP).

    Shapes: queries [M, D], keys [N, D] (this device's; key j of device d has the global index
    ``d * N + j``); self_index, target, query_labels: [M] int (-1: none); key_labels: [N] int.
    Returns ``SoftmaxStatistics``. Memory O((M + N) D + M * block_size), never O(M N);
    differentiable in queries and keys (custom VJP, tiles recomputed in the backward pass).
    """
    _check(block_size, cross_device)
    if (target is None and exclude_target) or (target is not None and query_labels is not None):
        raise ValueError("give target (single positive) or labels (several), not both; "
                         "exclude_target needs target.")
    m, n = queries.shape[0], keys.shape[0]
    cfg = _Config("softmax", block_size, exclude_self, exclude_target, target is not None,
                  query_labels is not None, columns, axis_name)
    qi = _Queries(_ints(self_index, m, -1), _ints(target, m, -1), _ints(query_labels, m, 0))
    return _run(cfg, queries, keys, jnp.zeros((), queries.dtype), qi, _ints(key_labels, n, 0),
                cross_device)


def sigmoid_row_sums(queries, keys, bias, *, block_size, target, axis_name=None,
                     cross_device="ring"):
    """``sum_j softplus(-y_ij (S_ij + bias))`` per query; ``y_ij = 1`` iff ``j == target[i]``.

    ``S = queries @ keys^T`` over the keys of every device (global key indices as in
    ``softmax_statistics``). Shapes: queries [M, D], keys [N, D], bias scalar, target [M] int.
    Returns [M]. Memory O((M + N) D + M * block_size); differentiable in queries, keys, bias.
    """
    _check(block_size, cross_device)
    m, n = queries.shape[0], keys.shape[0]
    cfg = _Config("sigmoid", block_size, axis_name=axis_name)
    qi = _Queries(_ints(None, m, -1), _ints(target, m, -1), _ints(None, m, 0))
    bias = jnp.asarray(bias, queries.dtype)
    return _run(cfg, queries, keys, bias, qi, _ints(None, n, 0), cross_device).row_lse
