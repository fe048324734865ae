"""``queue_info_nce`` (MoCo's loss) against a float64 NumPy reference written from the formula."""

import jax.numpy as jnp
import numpy as np

from contrastive_jax import losses
from tests.losses import helpers as h


def reference_queue_info_nce(query, key, queue, extra, temperature):
    q, k, n = h.unit(query), h.unit(key), h.unit(queue)
    total = 0.0
    for i in range(len(q)):
        negatives = n if extra is None else np.concatenate([n, h.unit(extra[i])])
        logits = np.concatenate([[q[i] @ k[i]], negatives @ q[i]]) / temperature
        total += h.log_sum_exp(logits) - logits[0]
    return total / len(q)


def _case(b, d, k, s, seed):
    return (h.normal(seed, b, d), h.normal(seed + 1, b, d), h.normal(seed + 2, k, d),
            None if s is None else h.normal(seed + 3, b, s, d))


def test_matches_reference_with_and_without_own_negatives():
    for b, d, k, s, t in [(1, 3, 2, None, 0.2), (4, 5, 8, None, 0.07), (4, 5, 8, 3, 0.2),
                          (2, 4, 1, 2, 0.01)]:
        query, key, queue, extra = _case(b, d, k, s, seed=b + k)
        value = h.run(lambda *a: losses.queue_info_nce(*a, temperature=t), query, key, queue,
                      extra)
        h.assert_close(value, reference_queue_info_nce(query, key, queue, extra, t), rtol=1e-5,
                       atol=1e-6, err_msg=(b, d, k, s, t))


def test_other_keys_of_the_batch_are_not_negatives():
    query, key, queue, _ = _case(3, 4, 5, None, seed=0)
    moved = key.copy()
    moved[1:] = h.normal(9, 2, 4)  # changes the other keys, not key 0

    def probe(query, key, moved, queue):
        first = [losses.queue_info_nce(query[:2], k[:2], queue)[None] for k in (key, moved)]
        alone = [losses.queue_info_nce(query[i:i + 1], key[i:i + 1], queue) for i in range(3)]
        return first, alone, losses.queue_info_nce(query, key, queue)

    (with_key, with_moved), alone, together = h.run(probe, query, key, moved, queue)
    # Query 0's term ignores key 1, so only query 1's term changes; each query is a batch of one.
    h.assert_close(2 * with_key - alone[1], alone[0], rtol=1e-6)
    h.assert_close(together, np.mean(alone), rtol=1e-6)
    assert not np.allclose(with_key, with_moved)


def test_gradients_float64():
    query, key, queue, extra = _case(2, 3, 4, 2, seed=5)
    h.check_grads_x64(lambda q, k, n, e: losses.queue_info_nce(q, k, n, e, temperature=0.2),
                      query, key, queue, extra)


def test_low_temperature_stays_finite_in_float32_and_bfloat16():
    query, key, queue, _ = _case(2, 4, 6, None, seed=7)
    h.assert_finite_value_and_grads(
        lambda q, k, n: losses.queue_info_nce(q, k, n, temperature=0.01),
        (query, key, queue), (query[:1], key[:1], queue))
    assert jnp.isfinite(losses.queue_info_nce(query, key, queue, temperature=0.01))
