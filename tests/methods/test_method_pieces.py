"""The pieces methods are built from, against NumPy references written from the formulas: EMA,
the cosine momentum schedule, queues, DirectPred's predictor, MoCo's queue loss, nearest
neighbours, and the separation of target networks from the online model."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.common import (
    cosine_momentum, ema, enqueue, param_arrays, with_params)
from contrastive_jax.methods.directpred import directpred_weights
from contrastive_jax.methods.moco import queue_info_nce
from contrastive_jax.methods.nnclr import nearest_neighbours
from contrastive_jax.methods.swav import swapped_cross_entropy
from contrastive_jax.models import MLPEncoder


def rng(seed):
    return np.random.default_rng(seed)


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_ema_is_the_convex_combination():
    target = {"a": rng(0).standard_normal(4), "b": {"c": rng(1).standard_normal((2, 2))}}
    online = {"a": rng(2).standard_normal(4), "b": {"c": rng(3).standard_normal((2, 2))}}
    new = ema(target, online, 0.9)
    np.testing.assert_allclose(new["a"], 0.9 * target["a"] + 0.1 * online["a"], rtol=1e-6)
    np.testing.assert_allclose(new["b"]["c"], 0.9 * target["b"]["c"] + 0.1 * online["b"]["c"],
                               rtol=1e-6)


def test_cosine_momentum_goes_from_base_to_one():
    values = [float(cosine_momentum(jnp.asarray(k), 100, 0.99)) for k in (0, 50, 100, 150)]
    np.testing.assert_allclose(values, [0.99, 0.995, 1.0, 1.0], rtol=1e-6)


def test_enqueue_is_a_fifo_over_a_ring_buffer():
    queue, pointer = jnp.zeros((6, 2)), jnp.asarray(0)
    reference = np.zeros((6, 2))
    for step in range(5):
        items = np.full((2, 2), step + 1.0)
        queue, pointer = enqueue(queue, pointer, jnp.asarray(items))
        start = (2 * step) % 6
        reference[start:start + 2] = items
        np.testing.assert_array_equal(queue, reference)
        assert int(pointer) == (2 * step + 2) % 6


def test_directpred_weights_from_a_known_spectrum():
    q, _ = np.linalg.qr(rng(0).standard_normal((3, 3)))
    correlation = q @ np.diag([4.0, 1.0, 0.25]) @ q.T
    # p_j = sqrt(s_j / max s) + eps = (1, 0.5, 0.25) + 0.1
    expected = q @ np.diag([1.1, 0.6, 0.35]) @ q.T
    np.testing.assert_allclose(directpred_weights(jnp.asarray(correlation, jnp.float32), eps=0.1),
                               expected, atol=1e-5)


def reference_moco_loss(query, key, queue, extra, temperature):
    q, k, n = unit(query), unit(key), unit(queue)
    total = 0.0
    for i in range(len(q)):
        negatives = n if extra is None else np.concatenate([n, unit(extra[i])])
        logits = np.concatenate([[q[i] @ k[i]], negatives @ q[i]]) / temperature
        total += -logits[0] + np.log(np.sum(np.exp(logits)))
    return total / len(q)


def test_queue_info_nce_uses_only_the_own_key_and_the_negatives():
    query, key = rng(0).standard_normal((4, 5)), rng(1).standard_normal((4, 5))
    queue, extra = rng(2).standard_normal((8, 5)), rng(3).standard_normal((4, 3, 5))
    for own_extra in (None, extra):
        args = [jnp.asarray(x, jnp.float32) for x in (query, key, queue)]
        value = queue_info_nce(*args, None if own_extra is None else jnp.asarray(own_extra),
                               temperature=0.2)
        np.testing.assert_allclose(value, reference_moco_loss(query, key, queue, own_extra, 0.2),
                                   rtol=1e-5)


def test_nearest_neighbours_are_the_most_cosine_similar_rows():
    z = rng(0).standard_normal((5, 4))
    support = unit(rng(1).standard_normal((9, 4)))
    neighbours, similarity = nearest_neighbours(jnp.asarray(z, jnp.float32),
                                                jnp.asarray(support, jnp.float32))
    index = np.argmax(unit(z) @ support.T, axis=1)
    np.testing.assert_allclose(neighbours, support[index], rtol=1e-6)
    np.testing.assert_allclose(similarity, np.max(unit(z) @ support.T, axis=1), rtol=1e-5)


def test_swapped_prediction_with_sinkhorn_codes_equals_the_swav_loss():
    scores = jnp.asarray(0.5 * rng(0).standard_normal((4, 6, 5)), jnp.float32)
    codes = [losses.sinkhorn(scores[c]) for c in (0, 1)]
    np.testing.assert_allclose(swapped_cross_entropy(scores, codes, (0, 1), temperature=0.1),
                               losses.swav(scores, (0, 1), temperature=0.1), rtol=1e-5)


def test_target_copy_shares_nothing_with_the_online_module():
    online = MLPEncoder(in_shape=(2, 2, 1), widths=(3,), rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (5, 2, 2, 1))
    params = param_arrays(online)
    shifted = jax.tree.map(lambda p: p + 1.0, params)
    stats = [np.asarray(s) for s in jax.tree.leaves(nnx.state(online, nnx.BatchStat))]
    target = with_params(online, shifted)
    target(x, train=True)  # moves the copy's running statistics only
    assert all(np.array_equal(a, np.asarray(b)) for a, b in
               zip(stats, jax.tree.leaves(nnx.state(online, nnx.BatchStat))))
    for a, b in zip(jax.tree.leaves(nnx.state(target, nnx.Param)), jax.tree.leaves(shifted)):
        np.testing.assert_array_equal(a, b)
    # Same weights give the same function.
    np.testing.assert_allclose(with_params(online, params)(x, train=False),
                               online(x, train=False), rtol=1e-6)
