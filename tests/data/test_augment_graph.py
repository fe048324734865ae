"""GRACE's graph views against NumPy given the same masks, their drop rates, and the preset."""

import jax
import numpy as np
import pytest

from contrastive_jax.data import augment_graph as ag


def test_mask_features_and_drop_edges_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 5)).astype(np.float32)
    keep_f = np.array([True, False, True, True, False])
    np.testing.assert_array_equal(ag.mask_features(x, keep_f), x * keep_f[None, :])
    edge_mask = np.array([True] * 6 + [False] * 2)
    keep_e = np.array([True, False, True, False, True, True, True, False])
    np.testing.assert_array_equal(ag.drop_edges(edge_mask, keep_e),
                                  np.logical_and(edge_mask, keep_e))


def test_keep_masks_have_the_drop_rates():
    keys = jax.random.split(jax.random.key(0), 2)
    keep_e = np.asarray(ag.edge_keep_mask(keys[0], 40_000, 0.3))
    keep_f = np.asarray(ag.feature_keep_mask(keys[1], 40_000, 0.6))
    # binomial std sqrt(p(1-p)/n) ~ 0.0025: 5 sigma
    assert abs(keep_e.mean() - 0.7) < 0.0125 and abs(keep_f.mean() - 0.4) < 0.0125
    assert np.asarray(ag.edge_keep_mask(keys[0], 100, 0.0)).all()


def test_grace_views_mask_whole_columns_and_keep_padding_dropped():
    views_fn = ag.grace(drop_edge=(0.5, 0.0), drop_feature=(0.5, 0.0))
    x = np.random.default_rng(1).standard_normal((30, 64)).astype(np.float32) + 3.0
    edge_mask = np.array([True] * 500 + [False] * 12)
    jitted = jax.jit(views_fn)
    views = jitted(jax.random.key(2), x, edge_mask)
    x1, m1 = np.asarray(views.x1), np.asarray(views.edge_mask1)
    zero_cols = (x1 == 0).all(axis=0)
    assert ((x1 == 0).any(axis=0) == zero_cols).all()  # a column is masked for every node
    np.testing.assert_array_equal(x1[:, ~zero_cols], x[:, ~zero_cols])
    assert 10 < zero_cols.sum() < 54 and not m1[500:].any() and 150 < m1.sum() < 350
    np.testing.assert_array_equal(views.x2, x)  # rate 0: untouched
    np.testing.assert_array_equal(views.edge_mask2, edge_mask)
    again = jitted(jax.random.key(2), x, edge_mask)
    np.testing.assert_array_equal(again.edge_mask1, m1)
    other = jitted(jax.random.key(3), x, edge_mask)
    assert not np.array_equal(other.edge_mask1, m1)
    assert views_fn.num_views == 2 and views_fn.drop_edge == (0.5, 0.0)


def test_bad_rates_fail_clearly():
    with pytest.raises(ValueError, match="augment.drop_edge must be two rates"):
        ag.grace(drop_edge=(0.2,))
    with pytest.raises(ValueError, match="augment.drop_feature"):
        ag.grace(drop_feature=(0.2, 1.0))
