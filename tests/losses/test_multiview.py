import itertools

import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference_mv_info_nce(views, t):
    u = h.unit(views)  # [V, N, D]
    v, n, _ = u.shape
    total = 0.0
    for i in range(n):
        positives = [u[l, i] @ u[m, i] / t for l in range(v) for m in range(v) if l != m]
        negatives = [u[l, i] @ u[m, j] / t for l in range(v) for m in range(v)
                     for j in range(n) if j != i]
        total += h.log_sum_exp(np.array(positives + negatives)) - h.log_sum_exp(np.array(positives))
    return total / n


def reference_mv_dhel(views, t):
    u = h.unit(views)
    v, n, _ = u.shape
    total = 0.0
    for i in range(n):
        pairs = [u[l, i] @ u[m, i] / t for l, m in itertools.combinations(range(v), 2)]
        total -= h.log_sum_exp(np.array(pairs))
        if n > 1:  # with a single point the uniformity term is omitted (our convention)
            for l in range(v):
                total += h.log_sum_exp(np.array([u[l, i] @ u[l, j] / t
                                                 for j in range(n) if j != i]))
    return total / n


SHAPES = [(2, 1, 4), (3, 2, 3), (2, 6, 5), (4, 5, 6)]
FUNCTIONS = [(losses.multiview_info_nce, reference_mv_info_nce),
             (losses.mv_dhel, reference_mv_dhel)]


@pytest.mark.parametrize("fn,reference", FUNCTIONS)
def test_matches_reference(fn, reference):
    cases = [(h.normal(i, *shape), np.float32(t))
             for i, shape in enumerate(SHAPES) for t in (0.1, 0.5)]
    h.assert_matches_reference(lambda x, t: fn(x, temperature=t), reference, cases)


def test_gradients_float64():
    views = h.normal(0, 3, 4, 5)
    h.check_grads_x64(lambda x: (losses.multiview_info_nce(x, temperature=0.3)
                                 + losses.mv_dhel(x, temperature=0.3)), views)


@pytest.mark.parametrize("fn", [losses.multiview_info_nce, losses.mv_dhel])
def test_invariant_to_point_order_view_order_and_scale(fn):
    views = h.normal(0, 3, 6, 5)
    h.assert_invariant(fn, (views,), [h.permuted((views,), (1,)), (views[::-1],),
                                      (h.row_scaled(views, 1),)])


def test_closed_forms():
    # Every view of a point identical; points mutually orthogonal.
    v, n, t = 3, 4, 0.5
    views = np.broadcast_to(np.eye(n, 6, dtype=np.float32), (v, n, 6))
    mv_info_nce = np.log1p(v * v * (n - 1) / (v * (v - 1) * np.exp(1 / t)))
    mv_dhel = v * np.log(n - 1) - 1 / t - np.log(v * (v - 1) / 2)
    got = h.run(lambda x: [losses.multiview_info_nce(x, temperature=t),
                           losses.mv_dhel(x, temperature=t)], views)
    h.assert_close(got, [mv_info_nce, mv_dhel])


def test_rejects_a_single_view():
    with pytest.raises(ValueError, match="V >= 2"):
        losses.mv_dhel(h.normal(0, 1, 4, 3))


def test_extremes_low_temperature_float32_and_bfloat16():
    views = h.normal(0, 3, 5, 8)
    got = h.run(lambda x: [losses.multiview_info_nce(x, temperature=0.01),
                           losses.mv_dhel(x, temperature=0.01)], views)
    h.assert_close(got, [reference_mv_info_nce(views, 0.01), reference_mv_dhel(views, 0.01)],
                   rtol=1e-4)
    both = lambda x: (losses.multiview_info_nce(x, temperature=0.01)
                      + losses.mv_dhel(x, temperature=0.01))
    h.assert_finite_value_and_grads(both, (views[:2, :1],), (views[:, :2],))


def test_sharded_matches_full_batch():
    views = h.normal(0, 3, 16, 6)
    h.assert_sharded_matches_full(
        lambda x, axis_name=None: (losses.multiview_info_nce(x, axis_name=axis_name)
                                   + 0.5 * losses.mv_dhel(x, axis_name=axis_name)),
        (views,), (P(None, "data"),))
