import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(features, labels, temperature, base_temperature):
    n, v, _ = features.shape
    z = h.unit(features).reshape(n * v, -1)
    label = np.repeat(np.arange(n) if labels is None else labels, v)
    if n * v == 1:
        return 0.0
    total = 0.0
    for a in range(n * v):
        others = [k for k in range(n * v) if k != a]
        log_norm = h.log_sum_exp(np.array([z[a] @ z[k] for k in others]) / temperature)
        positives = [k for k in others if label[k] == label[a]]
        if positives:  # anchors without positives add 0 but count in the mean
            mean_log_prob = np.mean([z[a] @ z[p] / temperature - log_norm for p in positives])
            total -= temperature / base_temperature * mean_log_prob
    return total / (n * v)


LABELLED = [(h.normal(0, 1, 1, 4), np.array([1])),
            (h.normal(1, 2, 2, 3), np.array([0, 0])),
            (h.normal(2, 6, 3, 5), np.array([0, 2, 1, 2, 0, 0])),
            (h.normal(3, 5, 1, 4), np.array([0, 1, 1, 2, 0]))]  # V = 1, example 3 has no positive


def test_matches_reference():
    h.assert_matches_reference(
        lambda f, y: losses.supcon(f, y, temperature=0.1, base_temperature=0.07),
        lambda f, y: reference(f, y, 0.1, 0.07), LABELLED)
    h.assert_matches_reference(
        lambda f: losses.supcon(f, temperature=0.2), lambda f: reference(f, None, 0.2, 0.07),
        [(f,) for f, _ in LABELLED])


def test_without_labels_equals_nt_xent_for_two_views():
    z1, z2 = h.normal(0, 6, 5), h.normal(1, 6, 5)
    supcon, nt_xent = h.run(
        lambda a, c: [losses.supcon(jnp.stack([a, c], axis=1), temperature=0.3,
                                    base_temperature=0.3),
                      losses.nt_xent(a, c, temperature=0.3)], z1, z2)
    h.assert_close(supcon, nt_xent)


def test_gradients_float64():
    f, y = LABELLED[2]
    h.check_grads_x64(lambda x: losses.supcon(x, y, temperature=0.3), f)


def test_invariances():
    f, y = LABELLED[2]
    scaled = h.row_scaled(f, 1)
    h.assert_invariant(losses.supcon, (f, y),
                       [h.permuted((f, y), (0, 0)), (scaled, y), (f[:, ::-1], y)])


def test_closed_forms():
    # Two classes of 3 examples x 2 views, classes on orthogonal axes, views identical: each
    # anchor has 5 positives (similarity 1) and 6 negatives (similarity 0) among 11 others.
    t = 0.5
    f = np.zeros((6, 2, 4), np.float32)
    f[:3, :, 0], f[3:, :, 1] = 1.0, 1.0
    y = np.array([0, 0, 0, 1, 1, 1])
    expected = np.log(5 * np.exp(1 / t) + 6) - 1 / t
    got = h.run(lambda x, l: losses.supcon(x, l, temperature=t, base_temperature=t), f, y)
    h.assert_close(got, expected)


def test_extremes_low_temperature_float32_and_bfloat16():
    f, y = LABELLED[2]
    h.assert_close(h.run(lambda x: losses.supcon(x, y, temperature=0.01), f),
                   reference(f, y, 0.01, 0.07), rtol=1e-4)
    h.assert_finite_value_and_grads(
        lambda x: losses.supcon(x, temperature=0.01), (f[:1, :1],), (f[:2, :1],))


def test_sharded_matches_full_batch():
    f = h.normal(0, 16, 3, 6)
    y = np.random.default_rng(0).integers(0, 4, 16)
    h.assert_sharded_matches_full(
        lambda x, l, axis_name=None: losses.supcon(x, l, temperature=0.2, axis_name=axis_name),
        (f, y), (P("data"), P("data")), argnums=(0,))
