"""POT's compactness regulariser: the adjacency bounds and the interval propagation against a
float64 NumPy reference, soundness (the bound is below the score of every graph the views can
produce), gradients and extremes. One graph is one example, so there is no sharded form."""

import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax import losses
from contrastive_jax.losses.pot import adjacency_bounds, gcn_output_bounds, node_compactness
from tests.losses import helpers as h
from tests.models.test_gcn import dense_normalized, random_graph


def ref_bounds(edges, mask, n, p):
    a = np.zeros((n, n))
    for (s, t), keep in zip(edges, mask):
        if keep:
            a[t, s] = 1.0
    d = a.sum(1)
    m = np.minimum(np.maximum(d - 1, 0), np.round(p * d))
    upper = np.zeros((n, n))
    lower = np.diag(1.0 / (d + 1))
    for i in range(n):
        for j in range(n):
            if a[i, j] or i == j:
                upper[i, j] = 1.0 / np.sqrt((d[i] + 1 - m[i]) * (d[j] + 1 - m[j]))
    return lower, upper


def ref_pot(x, edges, mask, layers, other, p):
    """IBP written entry by entry: each product's interval from its four corner products."""
    n = len(x)
    lower, upper = ref_bounds(edges, mask, n, p)
    lo = hi = np.asarray(x, np.float64)
    for w, b in layers:
        w = np.asarray(w, np.float64)
        prods = np.stack([lo[:, :, None] * w[None], hi[:, :, None] * w[None]])
        xw_lo, xw_hi = prods.min(0).sum(1), prods.max(0).sum(1)
        corners = np.stack([lower[:, :, None] * xw_lo[None], lower[:, :, None] * xw_hi[None],
                            upper[:, :, None] * xw_lo[None], upper[:, :, None] * xw_hi[None]])
        lo = np.maximum(corners.min(0).sum(1) + b, 0)
        hi = np.maximum(corners.max(0).sum(1) + b, 0)
    z = h.unit(other)
    w_cl = np.stack([z[i] - np.mean(np.delete(z, i, 0), 0) for i in range(n)])
    f = np.minimum(lo * w_cl, hi * w_cl).sum(1)
    return np.mean(np.log1p(np.exp(-f))), f


def setup(seed, n=12, f=5, d=4):
    edges, mask = random_graph(seed, n=n)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(np.float32)
    layers = [(rng.standard_normal((f, 2 * d)).astype(np.float32) * 0.5,
               rng.standard_normal(2 * d).astype(np.float32) * 0.1),
              (rng.standard_normal((2 * d, d)).astype(np.float32) * 0.5,
               rng.standard_normal(d).astype(np.float32) * 0.1)]
    return x, edges, mask, layers, rng.standard_normal((n, d)).astype(np.float32)


def test_bounds_and_value_match_reference():
    x, edges, mask, layers, other = setup(0)
    rates = (0.2, 0.5)
    outs = h.jit(lambda: [(adjacency_bounds(edges, mask, 12, drop_rate=p),
                           losses.pot(x, edges, mask, layers, other, drop_rate=p))
                          for p in rates])()
    for p, ((lower, upper), value) in zip(rates, outs):
        ref_lower, ref_upper = ref_bounds(edges, mask, 12, p)
        h.assert_close(lower, ref_lower, rtol=1e-6)
        h.assert_close(upper, ref_upper, rtol=1e-6)
        h.assert_close(value, ref_pot(x, edges, mask, layers, other, p)[0], rtol=1e-5)


def test_compactness_is_below_the_score_of_every_view_within_budget():
    x, edges, mask, layers, other = setup(1)
    p = 0.5
    def compactness():
        lower, upper = adjacency_bounds(edges, mask, 12, drop_rate=p)
        lo, hi = gcn_output_bounds(x, lower, upper, layers)
        return node_compactness(lo, hi, other)

    f = np.asarray(h.jit(compactness)())
    degree = np.bincount(edges[mask][:, 1], minlength=12)
    budget = np.minimum(np.maximum(degree - 1, 0), np.round(p * degree))
    rng = np.random.default_rng(2)
    z = h.unit(other)
    w_cl = z * 12 / 11 - z.sum(0) / 11
    for _ in range(20):
        keep = mask.copy()
        for i in range(12):  # drop up to budget[i] random incoming edges of node i
            incoming = np.flatnonzero(mask & (edges[:, 1] == i))
            drop = rng.choice(incoming, int(rng.integers(0, budget[i] + 1)), replace=False)
            keep[drop] = False
        hidden = x.astype(np.float64)
        a_hat = dense_normalized(edges, keep, 12)
        for w, b in layers:
            hidden = np.maximum(a_hat @ hidden @ w + b, 0)
        assert np.all((hidden * w_cl).sum(1) >= f - 1e-5)


def test_gradients_float64():
    x, edges, mask, layers, other = setup(3, n=6, f=3, d=2)
    (w1, b1), (w2, b2) = layers
    fn = lambda w1_, w2_, o: losses.pot(x, edges, mask, [(w1_, b1), (w2_, b2)], o,
                                        drop_rate=0.3)
    h.check_grads_x64(fn, w1, w2, other)


def test_two_nodes_and_large_weights_are_finite():
    edges = np.array([[0, 1], [1, 0]], np.int32)
    mask = np.array([True, True])
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    fn = lambda w, o: losses.pot(x, edges, mask, [(w, jnp.zeros(3))], o, drop_rate=0.5)
    value, grads = h.jit(jax.value_and_grad(fn, argnums=(0, 1)))(
        jnp.asarray(h.normal(0, 2, 3) * 100), jnp.asarray(h.normal(1, 2, 3)))
    assert np.isfinite(value) and all(np.isfinite(np.asarray(g)).all() for g in grads)
