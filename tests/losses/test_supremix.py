import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(features, targets, mix, temperature, window, distance_weight=True):
    """Loops over anchors, views and pairs, mixtures formed as embeddings (float64)."""
    b, v, _ = features.shape
    z = h.unit(features).reshape(b * v, -1)
    y = np.repeat(np.asarray(targets, np.float64), v)
    lam = np.asarray(mix, np.float64).reshape(b * v, b * v)
    n = b * v
    if n == 1:
        return 0.0
    w = (lambda gap: 1.0 + gap) if distance_weight else (lambda gap: 1.0)
    total = 0.0
    for a in range(n):
        terms, positives = [], []  # (weight, logit)
        for k in range(n):
            if k == a:
                continue
            logit = z[a] @ z[k] / temperature
            terms.append((w(abs(y[a] - y[k])), logit))
            if y[k] == y[a]:
                positives.append(logit)
            else:  # anchor-inclusive mixture: a hard negative
                mixture = lam[a, k] * z[a] + (1 - lam[a, k]) * z[k]
                target = lam[a, k] * y[a] + (1 - lam[a, k]) * y[k]
                terms.append((w(abs(y[a] - target)), z[a] @ mixture / temperature))
        for j in range(n):
            for k in range(n):
                if y[j] < y[a] < y[k] and y[a] - y[j] < window and y[k] - y[a] < window:
                    share = (y[k] - y[a]) / (y[k] - y[j])
                    mixture = share * z[j] + (1 - share) * z[k]
                    assert np.isclose(share * y[j] + (1 - share) * y[k], y[a])
                    logit = z[a] @ mixture / temperature
                    terms.append((1.0, logit))
                    positives.append(logit)
        weights, logits = map(np.array, zip(*terms))
        log_z = h.log_sum_exp(logits + np.log(weights))
        if positives:
            total -= np.mean(np.array(positives) - log_z)
    return total / n


def mix_for(b, v, seed, global_b=None):
    n = (global_b or b) * v
    return np.random.default_rng(seed).beta(2.0, 8.0, (b, v, n)).astype(np.float32)


CASES = [
    (h.normal(0, 1, 1, 4), np.array([3.0], np.float32), mix_for(1, 1, 0)),
    (h.normal(1, 2, 2, 3), np.array([1.0, 2.0], np.float32), mix_for(2, 2, 1)),
    (h.normal(2, 5, 2, 4), np.array([0.0, 1.5, 3.0, 1.5, 9.0], np.float32), mix_for(5, 2, 2)),
    (h.normal(3, 6, 1, 3), np.array([0.0, 1.0, 2.0, 3.0, 4.0, 2.0], np.float32),
     mix_for(6, 1, 3)),
]


def test_matches_reference():
    h.assert_matches_reference(
        lambda f, y, m: losses.supremix(f, y, m, temperature=0.3, positive_window=5.0),
        lambda f, y, m: reference(f, y, m, 0.3, 5.0), CASES)
    h.assert_matches_reference(
        lambda f, y, m: losses.supremix(f, y, m, temperature=0.5, positive_window=1.2,
                                        distance_weight=False),
        lambda f, y, m: reference(f, y, m, 0.5, 1.2, distance_weight=False), CASES[1:])


def test_mixtures_change_the_loss_from_weighted_supcon():
    # with no bracketing pair in the window and the anchor's share 0, the hard negatives are
    # copies of the real negatives: the loss is weighted SupCon with doubled negatives
    f, y, m = CASES[2]
    with_mix = h.values(lambda a, b, c: losses.supremix(a, b, c), [(f, y, m)])[0]
    zero_mix = h.values(lambda a, b, c: losses.supremix(a, b, c, positive_window=1e-3),
                        [(f, y, np.zeros_like(m))])[0]
    h.assert_close(zero_mix, reference(f, y, np.zeros_like(m), 0.3, 1e-3))
    assert abs(with_mix - zero_mix) > 1e-3


def test_gradients_float64():
    f, y, m = CASES[2]
    h.check_grads_x64(lambda x: losses.supremix(x, jnp.asarray(y), jnp.asarray(m)), f)


def test_invariances():
    f, y, m = CASES[2]
    b, v = f.shape[:2]
    perm = np.random.default_rng(5).permutation(b)
    # permuting the examples permutes the anchors and the columns of the mixing shares
    columns = (perm[:, None] * v + np.arange(v)[None, :]).reshape(-1)
    permuted = (f[perm], y[perm], m[perm][:, :, columns])
    shifted = (f, y + 100.0, m)  # only target differences matter
    h.assert_invariant(lambda a, c, d: losses.supremix(a, c, d), (f, y, m),
                       [permuted, (h.row_scaled(f, 1), y, m), shifted])


def test_extreme_temperature_and_tiny_batches_are_finite():
    f, y, m = CASES[1]
    h.assert_finite_value_and_grads(
        lambda a: losses.supremix(a, jnp.asarray(y), jnp.asarray(m), temperature=0.01),
        (f,), (f,))
    f1, y1, m1 = CASES[0]
    value = h.values(lambda a, c, d: losses.supremix(a, c, d), [(f1, y1, m1)])[0]
    assert value == 0.0


def test_sharded_matches_full():
    global_b, v = 16, 2
    f = h.normal(7, global_b, v, 8)
    y = np.random.default_rng(8).integers(0, 6, global_b).astype(np.float32)
    m = mix_for(global_b, v, 9)
    h.assert_sharded_matches_full(
        lambda a, c, d, axis_name=None: losses.supremix(a, c, d, axis_name=axis_name),
        (f, y, m), (P("data"), P("data"), P("data")), argnums=(0,))


def test_bad_shapes_are_explained():
    f, y, m = CASES[1]
    for bad in (lambda: losses.supremix(f, y[:1], m), lambda: losses.supremix(f, y, m[:, :, :2])):
        try:
            bad()
        except ValueError as error:
            assert "supremix" in str(error)
        else:
            raise AssertionError("no error")
