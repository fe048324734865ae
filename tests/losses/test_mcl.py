"""MCL's cluster-restricted NT-Xent against a float64 NumPy reference written from the paper's
sampling rule (an anchor's negatives come only from its own cluster), gradients, invariances,
extreme settings and the 8-device ``shard_map`` form against the full batch."""

import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(z1, z2, cluster, temperature=0.5):
    """Anchor by anchor over the 2B views: -log softmax of the positive among the positive and
    the other examples' views of the anchor's cluster."""
    views = np.concatenate([h.unit(z1), h.unit(z2)])
    b = len(z1)
    total = 0.0
    for a in range(2 * b):
        i, p = a % b, (a + b) % (2 * b)
        candidates = [p] + [k for k in range(2 * b) if k % b != i and cluster[k % b] == cluster[i]]
        logits = np.array([views[a] @ views[k] for k in candidates]) / temperature
        total += h.log_sum_exp(logits) - logits[0]
    return total / (2 * b)


def _cases():
    rng = np.random.default_rng(3)
    return [(h.normal(0, 6, 5), h.normal(1, 6, 5), np.array([0, 1, 0, 2, 1, 0]), 0.5),
            (h.normal(2, 7, 3), h.normal(3, 7, 3), rng.integers(0, 3, 7), 0.2),
            (h.normal(4, 5, 4), h.normal(5, 5, 4), np.arange(5), 0.3),  # every example alone
            (h.normal(6, 2, 4), h.normal(7, 2, 4), np.array([4, 4]), 0.1)]


def test_matches_reference():
    h.assert_matches_reference(
        lambda a, c, k, t: losses.mcl_nt_xent(a, c, k, temperature=t),
        reference, _cases(), rtol=2e-5, atol=1e-6)


def test_reference_is_nt_xent_with_one_cluster_and_zero_with_singletons():
    z1, z2 = h.normal(0, 6, 5), h.normal(1, 6, 5)
    one = float(losses.mcl_nt_xent(z1, z2, np.zeros(6, np.int32), temperature=0.4))
    h.assert_close(one, float(losses.nt_xent(z1, z2, temperature=0.4)), rtol=1e-5)
    h.assert_close(one, reference(z1, z2, np.zeros(6), 0.4), rtol=1e-5)
    assert float(losses.mcl_nt_xent(z1, z2, np.arange(6))) == 0.0  # only positives: exactly 0


def test_invariant_to_batch_order_scale_and_cluster_relabeling():
    z1, z2, cluster = h.normal(0, 6, 5), h.normal(1, 6, 5), np.array([0, 1, 0, 2, 1, 0])
    fn = lambda a, c, k: losses.mcl_nt_xent(a, c, k)
    h.assert_invariant(fn, (z1, z2, cluster), [
        h.permuted((z1, z2, cluster), (0, 0, 0)),
        (h.row_scaled(z1, 1), h.row_scaled(z2, 2), cluster),
        (z1, z2, np.array([7, 3, 7, 9, 3, 7]))])


def test_gradients_match_finite_differences():
    cluster = jnp.array([0, 1, 0, 1, 1])
    h.check_grads_x64(lambda a, c: losses.mcl_nt_xent(a, c, cluster, temperature=0.3),
                      h.normal(0, 5, 4), h.normal(1, 5, 4))


def test_tiny_temperature_and_batches_of_one_and_two_are_finite():
    fn = lambda a, c: losses.mcl_nt_xent(a, c, jnp.zeros(a.shape[0], jnp.int32),
                                         temperature=0.01)
    h.assert_finite_value_and_grads(fn, (h.normal(0, 2, 4), h.normal(1, 2, 4)),
                                    (h.normal(2, 1, 4), h.normal(3, 1, 4)))
    h.assert_close(reference(h.normal(0, 2, 4), h.normal(1, 2, 4), [0, 0], 0.01),
                   losses.mcl_nt_xent(h.normal(0, 2, 4), h.normal(1, 2, 4), jnp.zeros(2, int),
                                      temperature=0.01), rtol=1e-4)


def test_sharded_matches_full_batch():
    b = 3 * h.NUM_DEVICES
    cluster = np.random.default_rng(0).integers(0, 3, b).astype(np.int32)
    data = P("data")
    h.assert_sharded_matches_full(
        lambda a, c, k, axis_name=None: losses.mcl_nt_xent(a, c, k, temperature=0.2,
                                                           axis_name=axis_name),
        (h.normal(0, b, 6), h.normal(1, b, 6), cluster), (data, data, data), argnums=(0, 1))
