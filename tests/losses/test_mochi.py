import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax import losses
from tests.losses import helpers as h

B, K, D, NUM_HARD, S, S_QUERY = 3, 12, 6, 4, 5, 3


def mochi(q, n, key):
    return losses.mochi_negatives(q, n, key, num_hard=NUM_HARD, num_mix_negatives=S,
                                  num_mix_query=S_QUERY)


def nonnegative_pair_fit(target, u, v):
    """Least-squares a, b with target ~ a u + b v; returns (a, b, residual)."""
    basis = np.stack([u, v], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, target, rcond=None)
    return a, b, np.linalg.norm(basis @ [a, b] - target)


@pytest.fixture(scope="module")
def inputs_and_outputs():
    q, n = h.normal(0, B, D), h.normal(1, K, D)
    out = h.run(mochi, q, n, jax.random.key(0))
    again = h.run(mochi, q, n, jax.random.key(0))
    other = h.run(mochi, q, n, jax.random.key(1))
    return q, n, out, again, other


def test_shape_unit_norm_and_determinism(inputs_and_outputs):
    _, _, out, again, other = inputs_and_outputs
    assert out.shape == (B, S + S_QUERY, D)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(out, again)
    assert not np.allclose(out, other)


def test_mixes_are_convex_combinations_of_the_hardest_negatives(inputs_and_outputs):
    q, n, out, _, _ = inputs_and_outputs
    qu, nu = h.unit(q), h.unit(n)
    for b in range(B):
        hardest = np.argsort(-(nu @ qu[b]))[:NUM_HARD]
        for h_k in out[b, :S]:
            fits = [nonnegative_pair_fit(h_k, nu[i], nu[j])
                    for i, j in itertools.combinations_with_replacement(hardest, 2)]
            assert any(r < 1e-5 and a >= -1e-6 and c >= -1e-6 for a, c, r in fits), (b, h_k)
        for h_k in out[b, S:]:
            fits = [nonnegative_pair_fit(h_k, qu[b], nu[j]) for j in hardest]
            # beta q + (1 - beta) n_j with beta in (0, 0.5): the query's share is below 1/2.
            assert any(r < 1e-5 and 0 <= a / (a + c) < 0.5 for a, c, r in fits if a + c > 0)


def test_outputs_are_stop_gradient():
    q, n = h.normal(0, B, D), h.normal(1, K, D)
    weights = h.normal(2, B, S + S_QUERY, D)
    grads = h.run(jax.grad(lambda a, m: jnp.sum(mochi(a, m, jax.random.key(0)) * weights),
                           argnums=(0, 1)), q, n)
    assert all(np.all(g == 0) for g in grads)


def test_synthetic_negatives_only_increase_info_nce():
    q, k, n = h.normal(0, B, D), h.normal(1, B, D), h.normal(2, K, D)
    base, with_hard = h.run(lambda a, c, m: [
        losses.info_nce(a, c, extra_negatives=m),
        losses.info_nce(a, c, extra_negatives=jnp.concatenate(
            [jnp.broadcast_to(h.unit(n).astype(np.float32), (B, K, D)),
             mochi(a, m, jax.random.key(0))], axis=1))], q, k, n)
    assert with_hard > base


def test_rejects_num_hard_larger_than_the_queue():
    with pytest.raises(ValueError, match="num_hard"):
        losses.mochi_negatives(h.normal(0, B, D), h.normal(1, 3, D), jax.random.key(0),
                               num_hard=4)
