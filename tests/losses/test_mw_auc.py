import numpy as np

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(positive, negative):
    terms = [-h.log_sigmoid(p - n) for p in np.ravel(positive) for n in np.ravel(negative)]
    return np.mean(terms)


def test_matches_reference_over_all_pairs():
    cases = [(h.normal(0, 1), h.normal(1, 1)), (h.normal(2, 4), h.normal(3, 4, 3)),
             (3 * h.normal(4, 6), 3 * h.normal(5, 6, 5))]
    h.assert_matches_reference(losses.mw_auc, reference, cases)


def test_in_batch_usage_and_auc_bound():
    # A [B, B] score matrix: diagonal positives, off-diagonal negatives.
    scores = h.normal(0, 5, 5)
    positives, negatives = np.diag(scores), scores[~np.eye(5, dtype=bool)]
    value = h.run(losses.mw_auc, positives, negatives)
    h.assert_close(value, reference(positives, negatives))
    # -log sigmoid(d) >= log 2 * [d <= 0], so the loss / log 2 bounds the fraction misranked.
    misranked = np.mean(positives[:, None] <= negatives[None, :])
    assert value / np.log(2) >= misranked


def test_gradients_float64_and_permutation_invariance():
    p, n = h.normal(0, 4), h.normal(1, 4, 3)
    h.check_grads_x64(losses.mw_auc, p, n)
    h.assert_invariant(losses.mw_auc, (p, n), [(p[::-1], n[::-1]), (p, n.T)])


def test_closed_forms():
    equal, separated = h.run(lambda p, n: [losses.mw_auc(p, p), losses.mw_auc(p + 50.0, n)],
                             np.zeros(3, np.float32), np.zeros(4, np.float32))
    h.assert_close([equal, separated], [np.log(2.0), np.log1p(np.exp(-50.0))])


def test_extremes_float32_and_bfloat16():
    p, n = 30 * h.normal(0, 2), 30 * h.normal(1, 2, 4)
    h.assert_finite_value_and_grads(losses.mw_auc, (p[:1], n[:1]), (p, n))
