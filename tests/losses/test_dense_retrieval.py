"""Dense-retrieval losses (DPR in-batch + shared hard negatives, STAR's hard term) and the
masked MW-AUC against float64 NumPy references written from their formulas."""

import functools

import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def dpr_reference(q, d, negatives=None, mask=None, t=0.05, symmetric=True):
    q, d = h.unit(q), h.unit(d)
    b = len(q)
    total_q, total_d = 0.0, 0.0
    for i in range(b):
        logits = [q[i] @ d[j] / t for j in range(b)]
        if negatives is not None:
            n = h.unit(negatives)
            logits += [q[i] @ n[m] / t for m in range(len(n))
                       if mask is None or mask[i, m]]
        total_q += h.log_sum_exp(np.array(logits)) - q[i] @ d[i] / t
        reverse = np.array([d[i] @ q[j] / t for j in range(b)])
        total_d += h.log_sum_exp(reverse) - d[i] @ q[i] / t
    if not symmetric:
        return total_q / b
    return 0.5 * (total_q / b + total_d / b)


def star_reference(q, d, negatives, mask=None, t=0.05):
    q, d, n = h.unit(q), h.unit(d), h.unit(negatives)
    total = 0.0
    for i in range(len(q)):
        logits = [q[i] @ d[i] / t] + [q[i] @ n[i, k] / t for k in range(n.shape[1])
                                      if mask is None or mask[i, k]]
        total += h.log_sum_exp(np.array(logits)) - logits[0]
    return total / len(q)


def masked_mw_reference(positive, negative, mask):
    kept = np.ravel(negative)[np.ravel(mask)]
    return np.mean([-h.log_sigmoid(p - n) for p in np.ravel(positive) for n in kept])


def test_dense_retrieval_info_nce_matches_reference():
    q, d, n = h.normal(0, 6, 5), h.normal(1, 6, 5), h.normal(2, 4, 5)
    mask = np.random.default_rng(3).random((6, 4)) > 0.4
    values = h.run(lambda q, d, n, mask: [
        losses.dense_retrieval_info_nce(q, d, temperature=0.1),
        losses.dense_retrieval_info_nce(q, d, n, temperature=0.1),
        losses.dense_retrieval_info_nce(q, d, n, temperature=0.1, negative_mask=mask),
        losses.dense_retrieval_info_nce(q, d, n, temperature=0.1, negative_mask=mask,
                                        symmetric=False)], q, d, n, mask)
    h.assert_close(values, [dpr_reference(q, d, t=0.1), dpr_reference(q, d, n, t=0.1),
                            dpr_reference(q, d, n, mask, t=0.1),
                            dpr_reference(q, d, n, mask, t=0.1, symmetric=False)])
    # No extra negatives: the symmetric loss is CLIP's at logit scale 1 / t.
    clip = h.run(lambda q, d: losses.clip(q, d, logit_scale=10.0), q, d)
    h.assert_close(values[0], clip)


def test_star_hard_negative_loss_and_masked_mw_auc_match_references():
    q, d, n = h.normal(0, 5, 4), h.normal(1, 5, 4), h.normal(2, 5, 3, 4)
    mask = np.random.default_rng(4).random((5, 3)) > 0.3
    star, star_masked = h.run(lambda q, d, n, m: [
        losses.star_hard_negative_loss(q, d, n, temperature=0.2),
        losses.star_hard_negative_loss(q, d, n, temperature=0.2, negative_mask=m)],
        q, d, n, mask)
    h.assert_close([star, star_masked],
                   [star_reference(q, d, n, t=0.2), star_reference(q, d, n, mask, t=0.2)])
    p, neg = h.normal(5, 4), h.normal(6, 7)
    neg_mask = np.array([True, False, True, True, False, True, False])
    value = h.run(lambda p, n, m: losses.mw_auc(p, n, negative_mask=m), p, neg, neg_mask)
    h.assert_close(value, masked_mw_reference(p, neg, neg_mask))


def test_gradients_float64():
    q, d, n = h.normal(0, 4, 3), h.normal(1, 4, 3), h.normal(2, 5, 3)
    mask = np.random.default_rng(0).random((4, 5)) > 0.3
    h.check_grads_x64(lambda q, d, n: losses.dense_retrieval_info_nce(
        q, d, n, temperature=0.5, negative_mask=mask), q, d, n)
    hard = np.stack([n[:4], n[1:5]], axis=1)  # [4, 2, 3]
    h.check_grads_x64(lambda q, d, n: losses.star_hard_negative_loss(
        q, d, n, temperature=0.5, negative_mask=mask[:, :2]), q, d, hard)


def test_sharded_over_8_devices_equals_full_batch():
    q, d, n = h.normal(0, 16, 6), h.normal(1, 16, 6), h.normal(2, 8, 6)
    mask = np.random.default_rng(1).random((16, 8)) > 0.3
    fn = functools.partial(losses.dense_retrieval_info_nce, temperature=0.1)
    h.assert_sharded_matches_full(
        lambda q, d, n, mask, axis_name=None: fn(q, d, n, negative_mask=mask,
                                                 axis_name=axis_name),
        (q, d, n, mask), (P("data"), P("data"), P("data"), P("data")), argnums=(0, 1, 2))
    hard = h.normal(3, 16, 2, 6)
    h.assert_sharded_matches_full(
        lambda q, d, n, axis_name=None: losses.star_hard_negative_loss(
            q, d, n, temperature=0.1, axis_name=axis_name),
        (q, d, hard), (P("data"), P("data"), P("data")))


def test_finite_at_low_temperature_and_batch_of_one():
    q, d, n = h.normal(0, 1, 4), h.normal(1, 1, 4), h.normal(2, 2, 4)
    values = h.run(lambda q, d, n: [
        losses.dense_retrieval_info_nce(q, d, n, temperature=0.01),
        losses.dense_retrieval_info_nce(q, d, temperature=0.01),
        losses.star_hard_negative_loss(q, d, n[None], temperature=0.01)], q, d, n)
    assert np.all(np.isfinite(values))
    h.assert_close(values[1], 0.0, atol=1e-6)  # B = 1, no negatives: nothing to contrast
