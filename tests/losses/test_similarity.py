"""``softmax_statistics`` / ``sigmoid_row_sums``: the one definition behind both forms.

The dense form (``block_size=None``) against float64 NumPy written from the definitions; the
blockwise form against the dense one (values and gradients) for every option; a new loss written
on the statistics gets ``block_size`` by construction.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax import losses
from tests.losses import helpers as h

M, N, D = 5, 7, 3
TARGET = np.array([2, 0, -1, 6, 4])
SELF = np.array([0, 1, 2, 3, 4])
Q_LABEL, K_LABEL = np.array([0, 1, 1, 2, 0]), np.array([0, 1, 2, 0, 1, 1, 2])
OPTIONS = {
    "target": dict(target=TARGET),
    "target_excluding_self": dict(target=TARGET, self_index=SELF, exclude_self=True),
    "decoupled": dict(target=TARGET, self_index=SELF, exclude_self=True, exclude_target=True),
    "labels": dict(query_labels=Q_LABEL, key_labels=K_LABEL, self_index=SELF, exclude_self=True),
    "columns": dict(target=np.array([0, 1, 2, 3, 4]), columns=True),
}


def reference(q, k, target=None, self_index=None, exclude_self=False, exclude_target=False,
              query_labels=None, key_labels=None, columns=False):
    s = np.asarray(q, np.float64) @ np.asarray(k, np.float64).T
    rows, pos, cnt = [], [], []
    for i in range(len(s)):
        kept = [j for j in range(s.shape[1])
                if not (exclude_self and j == self_index[i])
                and not (exclude_target and j == target[i])]
        rows.append(h.log_sum_exp(s[i, kept]))
        if query_labels is not None:
            p = [j for j in range(s.shape[1])
                 if key_labels[j] == query_labels[i] and j != self_index[i]]
        else:
            p = [] if target is None or target[i] < 0 else [target[i]]
        pos.append(sum(s[i, j] for j in p))
        cnt.append(len(p))
    col = h.log_sum_exp(s, axis=0) if columns else np.zeros(s.shape[1])
    return rows, pos, cnt, col


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_dense_statistics_match_numpy_and_blockwise_match_dense(option):
    q, k = 2.0 * h.normal(0, M, D), h.normal(1, N, D)
    kw = OPTIONS[option]

    def stats(q, k, block_size):
        return losses.softmax_statistics(q, k, block_size=block_size, **kw)

    def weighted_sum(q, k, block_size):  # every statistic reaches the gradient
        out = stats(q, k, block_size)
        w = jnp.arange(1.0, M + 1.0)
        return (jnp.sum(w * out.row_lse) - jnp.sum(w[::-1] * out.positive_sum)
                + jnp.sum(jnp.sin(jnp.arange(N)) * out.column_lse))

    dense, blocked, g_dense, g_blocked = h.run(lambda q, k: [
        stats(q, k, None), stats(q, k, 3), jax.grad(weighted_sum, (0, 1))(q, k, None),
        jax.grad(weighted_sum, (0, 1))(q, k, 3)], q, k)
    for got, want in zip(dense, reference(q, k, **kw)):
        h.assert_close(got, want, rtol=1e-5, atol=1e-5, err_msg=option)
    for got, want in zip([*blocked, *g_blocked], [*dense, *g_dense]):
        h.assert_close(got, want, rtol=1e-5, atol=1e-5, err_msg=option)


def test_sigmoid_row_sums_match_numpy_in_both_forms():
    q, k, bias = 3.0 * h.normal(2, M, D), h.normal(3, N, D), -2.0
    s = np.asarray(q, np.float64) @ np.asarray(k, np.float64).T + bias
    y = np.where(np.arange(N) == TARGET[:, None], 1.0, -1.0)
    want = -np.sum(h.log_sigmoid(y * s), axis=1)
    dense, blocked = h.run(lambda q, k: [
        losses.sigmoid_row_sums(q, k, bias, target=TARGET),
        losses.sigmoid_row_sums(q, k, bias, target=TARGET, block_size=2)], q, k)
    h.assert_close(dense, want, rtol=1e-5, atol=1e-6)
    h.assert_close(blocked, want, rtol=1e-5, atol=1e-6)


def test_a_new_loss_written_on_the_statistics_gets_block_size():
    """A loss not in the library: InfoNCE with the positive left out of its denominator."""
    def decoupled_info_nce(query, key, *, temperature=0.1, block_size=None):
        q, k = losses.l2_normalize(query), losses.l2_normalize(key)
        stats = losses.softmax_statistics(
            q / temperature, k, target=jnp.arange(q.shape[0]), exclude_target=True,
            block_size=block_size)
        return jnp.mean(stats.row_lse - stats.positive_sum)

    query, key = h.normal(4, 6, D), h.normal(5, 6, D)
    qn, kn = h.unit(query), h.unit(key)
    s = qn @ kn.T / 0.1
    want = np.mean([h.log_sum_exp(np.delete(s[i], i)) - s[i, i] for i in range(6)])
    dense, blocked = h.run(lambda q, k: [decoupled_info_nce(q, k),
                                         decoupled_info_nce(q, k, block_size=4)], query, key)
    h.assert_close(dense, want, rtol=1e-5)
    h.assert_close(blocked, want, rtol=1e-5)


def test_bad_arguments_get_one_clear_error():
    q = jnp.ones((2, 3))
    with pytest.raises(ValueError, match="not both"):
        losses.softmax_statistics(q, q, target=jnp.arange(2), query_labels=jnp.arange(2),
                                  key_labels=jnp.arange(2))
    with pytest.raises(ValueError, match="exclude_target needs target"):
        losses.softmax_statistics(q, q, exclude_target=True)
    with pytest.raises(ValueError, match="together"):
        losses.softmax_statistics(q, q, query_labels=jnp.arange(2))
    with pytest.raises(ValueError, match="cross_device"):
        losses.softmax_statistics(q, q, cross_device="tree")
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        losses.softmax_statistics(q, q, block_size=0)
