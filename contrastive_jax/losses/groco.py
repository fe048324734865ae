"""Group ordering constraints (GroCo): a differentiable sorting network must put every positive
similarity above the hardest negative similarities."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common

RELAXATIONS = ("cauchy", "logistic")


def _swap_probability(a, b, steepness, relaxation):
    """Relaxed ``P(a <= b)``: the weight of ``a`` in the soft minimum of a comparator."""
    v = steepness * (b - a)
    if relaxation == "cauchy":
        return jnp.arctan(v) / jnp.pi + 0.5
    return jax.nn.sigmoid(v)


def _odd_even_layers(n):
    """For each of the n layers: ``(low [n], high [n], is_low [n])`` index arrays.

    Position j of layer l sits in the comparator ``(low[j], high[j])`` (``low == high == j``
    when it is left alone); ``is_low[j]`` says whether j receives the soft minimum.
    """
    j = jnp.arange(n)
    layers = []
    for parity in (0, 1):
        first = (j - parity) % 2 == 0  # j is the lower end of a pair (j, j + 1)
        low = jnp.where(first, j, j - 1)
        valid = (low >= parity) & (low + 1 < n)
        low = jnp.where(valid, low, j)
        high = jnp.where(valid, low + 1, j)
        layers.append((low, high, first | ~valid))
    return [layers[layer % 2] for layer in range(n)]


def odd_even_sort(x: jax.Array, *, steepness: float, relaxation: str = "cauchy"
                  ) -> tuple[jax.Array, jax.Array]:
    """Relaxed odd-even transposition sort (ascending) of the rows of ``x``: [N, n].

    ``n`` layers; layer ``l`` compares the neighbours ``(i, i + 1)`` for ``i = l mod 2, l mod 2
    + 2, ...``. A comparator of ``(a, b)`` with ``p = P(a <= b)`` writes ``p a + (1 - p) b``
    (soft min) and ``(1 - p) a + p b`` (soft max), and mixes the two columns of the
    permutation matrix the same way (Petersen et al., 2021, "Differentiable Sorting Networks").
    The layers run in a ``lax.scan`` (one compiled body whatever n).

    Returns:
      ``(sorted [N, n], P [N, n, n])`` with ``P[:, i, j]`` the probability that input ``i``
      lands at rank ``j`` (so ``sorted = x @ P``).
    """
    n = x.shape[1]
    # Built from x so that inside shard_map it varies over the same axes as x (scan carry).
    perm = jnp.eye(n, dtype=x.dtype)[None] + jnp.zeros_like(x)[:, :, None]
    layers = _odd_even_layers(n)
    xs = tuple(jnp.stack([layer[i] for layer in layers]) for i in range(3))

    def step(carry, layer):
        values, p_matrix = carry
        low, high, is_low = layer
        a, b = values[:, low], values[:, high]
        p = _swap_probability(a, b, steepness, relaxation)  # unpaired: a == b, p = 1/2
        w_low = jnp.where(is_low, p, 1 - p)  # weight of the pair's lower input
        values = w_low * a + (1 - w_low) * b
        p_matrix = (w_low[:, None, :] * p_matrix[:, :, low]
                    + (1 - w_low[:, None, :]) * p_matrix[:, :, high])
        return (values, p_matrix), None

    (x, perm), _ = jax.lax.scan(step, (x, perm), xs)
    return x, perm


def _binary_cross_entropy(p, target):
    """torch.nn.BCELoss per entry: logs clamped at -100 (so p = 0 or 1 stays finite)."""
    def clamped_log(x):
        safe = jnp.where(x > 0, x, 1.0)
        return jnp.where(x > 0, jnp.maximum(jnp.log(safe), -100.0), -100.0)
    return -(target * clamped_log(p) + (1 - target) * clamped_log(1 - p))


def groco(views: jax.Array, *, num_negatives: int = 10, steepness: float = 1.0,
          relaxation: str = "cauchy", stop_gradient: bool = True, normalize: bool = True,
          axis_name: str | None = None) -> jax.Array:
    """GroCo: sort each anchor's positive and hardest negative similarities with a relaxed
    odd-even network and ask that the negatives land in the bottom ranks, the positives on top.

    For anchor ``z_v,i`` (view v, example i): positives ``s+ = cos(z_v,i, z_u,i)``, u != v
    (V - 1 of them), and negatives the ``k`` largest ``s- = cos(z_v,i, z_v,j)``, j != i (the
    other examples in the anchor's own view). Both groups are pre-sorted ascending and
    concatenated ``x = [s-_(1..k), s+_(1..V-1)]`` (the target order), sorted by the relaxed
    network into the doubly stochastic ``P`` (``P[a, r]``: input a at rank r), and
    the loss is the mean over anchors and inputs ``a`` of

    ``(BCE(sum_{r >= k} P[a, r], 1[a >= k]) + BCE(sum_{r < k} P[a, r], 1[a < k])) / 2``

    (each input's probability of landing among the top ``V - 1`` ranks, or the bottom ``k``,
    against its group; ``BCE(p, y) = -y log p - (1 - y) log(1 - p)``, logs clamped at -100).

    Defaults are the released code's (``learning_by_sorting/losses``: ``GroCo``): odd-even
    network, Cauchy relaxation, steepness 1, top-10 negatives, stop-gradient on the positives'
    and negatives' side (only the anchor's own embedding receives gradient through a pair).
    With fewer than ``k + 1`` examples the available ``B - 1`` negatives are used; with B = 1
    there is nothing to order and the loss is 0.

    The negatives are a top-k of the similarities followed by a sorting network, not a
    softmax, so there is no blockwise (``block_size``) form: the [B, B] similarities are dense.

    Args:
      views: [V, B, D] embeddings of V >= 2 views of the same B examples.
      num_negatives: k, the hardest negatives per anchor (default 10).
      steepness: comparator steepness ``s`` in ``P(a <= b) = relax(s (b - a))`` (default 1.0).
      relaxation: "cauchy" (default: ``atan(v) / pi + 1/2``) or "logistic" (``sigmoid(v)``).
      stop_gradient: no gradient through the positive and negative side of each pair (default
        True, as released).
      normalize: L2-normalize the embeddings first (default True: cosine similarities).
      axis_name: mesh axis inside ``jax.shard_map``; the examples of every device are
        candidate negatives. None (default): one device.

    Returns:
      Scalar float32 loss, the mean over the V B (global) anchors.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
      ...                [[0.9, 0.1], [0.2, 0.8], [1.0, 0.9]]])
      >>> print(f"{float(losses.groco(z, num_negatives=2)):.4f}")
      0.3146

    Paper: "Learning by Sorting: Self-supervised Learning with Group Ordering Constraints",
    Shvetsova et al., 2023 (ICCV).
    """
    if relaxation not in RELAXATIONS:
        raise ValueError(f"relaxation must be one of {RELAXATIONS}, got {relaxation!r}.")
    z = _common.prepare(views, normalize)
    num_views, local = z.shape[0], z.shape[1]
    if num_views < 2:
        raise ValueError(f"groco needs at least 2 views, got views of shape {views.shape}.")
    total = _common.global_count(local, axis_name)
    k = min(num_negatives, total - 1)
    if k <= 0:
        return jnp.zeros((), z.dtype)
    side = jax.lax.stop_gradient if stop_gradient else (lambda x: x)
    rows = _common.row_offset(local, axis_name) + jnp.arange(local)
    own = jnp.arange(total)[None, :] == rows[:, None]  # [b, B]
    per_view = []
    for v in range(num_views):
        anchor = z[v]
        positives = jnp.stack([jnp.sum(anchor * side(z[u]), -1)
                               for u in range(num_views) if u != v], axis=-1)  # [b, V - 1]
        similarities = anchor @ side(_common.gather_rows(z[v], axis_name)).T  # [b, B]
        hardest, _ = jax.lax.top_k(jnp.where(own, -jnp.inf, similarities), k)  # descending
        x = jnp.concatenate([hardest[:, ::-1], jnp.sort(positives, axis=-1)], axis=-1)
        _, perm = odd_even_sort(x, steepness=steepness, relaxation=relaxation)
        is_negative = (jnp.arange(x.shape[1]) < k).astype(x.dtype)
        bottom = jnp.clip(jnp.sum(perm[:, :, :k], axis=-1), 0.0, 1.0)  # [b, n]
        top = jnp.clip(jnp.sum(perm[:, :, k:], axis=-1), 0.0, 1.0)
        bce = (_binary_cross_entropy(top, 1 - is_negative)
               + _binary_cross_entropy(bottom, is_negative)) / 2
        per_view.append(jnp.mean(bce))
    return _common.global_mean(jnp.mean(jnp.stack(per_view)), axis_name)
