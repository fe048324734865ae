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


def _bitonic_layers(n):
    """The bitonic network (ascending) on ``n`` wires as layers ``(first [m], second [m],
    soft [m], is_min [m])`` over ``m = 2^ceil(log2 n)`` wires, the ``m - n`` padding wires first.

    Batcher's network: for blocks of size ``2^(b+1)``, layers at distance ``d = 2^b, ..., 1``
    compare wires ``i`` and ``i XOR d``; the smaller goes to the lower wire in blocks whose
    index ``i >> (b + 1)`` is even, to the higher one otherwise. The padding wires hold values
    below every input (-inf), so a comparator touching one is a fixed routing: it is resolved
    here, on the host, and wire j then copies wire ``first[j]`` (``soft[j]`` False). A soft
    comparator writes to its two wires from ``(first, second) = (min wire, max wire)``;
    ``is_min[j]`` says which of the two j is. The pads end on wires ``0 .. m - n - 1``.
    """
    m = 1 << max(n - 1, 0).bit_length()
    pad = [i < m - n for i in range(m)]
    layers = []
    for block in range(m.bit_length() - 1):
        for distance in (1 << e for e in range(block, -1, -1)):
            first, second = list(range(m)), list(range(m))
            soft, is_min = [False] * m, [False] * m
            new_pad = list(pad)
            for i in range(m):
                k = i ^ distance
                if k < i:
                    continue
                lo, hi = (i, k) if (i >> (block + 1)) % 2 == 0 else (k, i)  # lo gets the min
                if pad[lo] or pad[hi]:  # a pad is the smaller: it goes to lo, the other to hi
                    source_min, source_max = (lo, hi) if pad[lo] else (hi, lo)
                    first[lo] = second[lo] = source_min
                    first[hi] = second[hi] = source_max
                    new_pad[lo], new_pad[hi] = pad[source_min], pad[source_max]
                else:
                    first[lo], first[hi], second[lo], second[hi] = lo, lo, hi, hi
                    soft[lo] = soft[hi] = is_min[lo] = True
            pad = new_pad
            layers.append((first, second, soft, is_min))
    if pad != [i < m - n for i in range(m)]:  # the pads must end on the bottom wires
        raise AssertionError(f"bitonic network on {n} inputs left the padding unsorted")
    return m, layers


def _odd_even_layers_as_routing(n):
    """The odd-even network's layers in ``_bitonic_layers``'s form (no padding)."""
    layers = []
    for low, high, is_low in _odd_even_layers(n):
        layers.append((low, high, low != high, is_low & (low != high)))
    return n, layers


NETWORKS = ("odd_even", "bitonic")


def _run_network(x, m, layers, steepness, relaxation):
    """Apply relaxed ``layers`` on ``m`` wires (pads first) to ``x`` [N, n]: ``(sorted,
    P)`` restricted to the n inputs and the last n ranks."""
    rows, n = x.shape
    if not layers:  # one input: nothing to compare
        return x, jnp.ones((rows, n, n), x.dtype)
    values = jnp.concatenate([jnp.zeros((rows, m - n), x.dtype), x], axis=1)
    # P[:, input, wire], built from x so that inside shard_map it varies like x (scan carry).
    perm = (jnp.eye(n, m, m - n, dtype=x.dtype)[None] + jnp.zeros_like(x)[:, :, None])
    xs = tuple(jnp.stack([jnp.asarray(layer[i]) for layer in layers]) for i in range(4))

    def step(carry, layer):
        values, p_matrix = carry
        first, second, soft, is_min = layer
        a, b = values[:, first], values[:, second]
        p = _swap_probability(a, b, steepness, relaxation)
        w = jnp.where(soft, jnp.where(is_min, p, 1 - p), 1.0)  # fixed routing: copy first
        values = w * a + (1 - w) * b
        p_matrix = w[:, None, :] * p_matrix[:, :, first] + (1 - w[:, None, :]) * p_matrix[
            :, :, second]
        return (values, p_matrix), None

    (values, perm), _ = jax.lax.scan(step, (values, perm), xs)
    return values[:, m - n:], perm[:, :, m - n:]


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
    m, layers = _odd_even_layers_as_routing(x.shape[1])
    return _run_network(x, m, layers, steepness, relaxation)


def bitonic_sort(x: jax.Array, *, steepness: float, relaxation: str = "cauchy"
                 ) -> tuple[jax.Array, jax.Array]:
    """Relaxed bitonic sort (ascending) of the rows of ``x``: [N, n].

    Batcher's bitonic network, ``log2(m) (log2(m) + 1) / 2`` layers of ``m / 2`` comparators
    for ``m = 2^ceil(log2 n)`` (against the odd-even network's n layers), each comparator
    relaxed as in ``odd_even_sort``. For n not a power of two the network runs on m wires, the
    extra ones holding -inf: every comparator touching one is an exact routing, resolved when
    the network is built, so only the real inputs are relaxed. Petersen et al., 2021, "Differentiable Sorting Networks for Scalable
    Sorting and Ranking Supervision" (ICML), the bitonic network GroCo offers.

    Returns:
      ``(sorted [N, n], P [N, n, n])``, ``P[:, i, j]`` the probability that input ``i`` lands
      at rank ``j`` (doubly stochastic; ``sorted = x @ P``).
    """
    m, layers = _bitonic_layers(x.shape[1])
    return _run_network(x, m, layers, steepness, relaxation)


def _binary_cross_entropy(p, target):
    """torch.nn.BCELoss per entry: logs clamped at -100 (so p = 0 or 1 stays finite)."""
    def clamped_log(x):
        safe = jnp.where(x > 0, x, 1.0)
        return jnp.where(x > 0, jnp.maximum(jnp.log(safe), -100.0), -100.0)
    return -(target * clamped_log(p) + (1 - target) * clamped_log(1 - p))


def groco(views: jax.Array, *, num_negatives: int = 10, steepness: float = 1.0,
          relaxation: str = "cauchy", network: str = "odd_even", stop_gradient: bool = True,
          normalize: bool = True, axis_name: str | None = None) -> jax.Array:
    """GroCo: sort each anchor's positive and hardest negative similarities with a relaxed
    sorting network (odd-even or bitonic) and ask that the negatives land in the bottom ranks, the positives on top.

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
      network: "odd_even" (default: ``odd_even_sort``, n layers) or "bitonic"
        (``bitonic_sort``, ``log2(m) (log2(m) + 1) / 2`` layers for ``m = 2^ceil(log2 n)``),
        the two networks the paper offers, on ``n = k + V - 1`` inputs.
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
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}.")
    sort = bitonic_sort if network == "bitonic" else odd_even_sort
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
        _, perm = sort(x, steepness=steepness, relaxation=relaxation)
        is_negative = (jnp.arange(x.shape[1]) < k).astype(x.dtype)
        bottom = jnp.clip(jnp.sum(perm[:, :, :k], axis=-1), 0.0, 1.0)  # [b, n]
        top = jnp.clip(jnp.sum(perm[:, :, k:], axis=-1), 0.0, 1.0)
        bce = (_binary_cross_entropy(top, 1 - is_negative)
               + _binary_cross_entropy(bottom, is_negative)) / 2
        per_view.append(jnp.mean(bce))
    return _common.global_mean(jnp.mean(jnp.stack(per_view)), axis_name)
