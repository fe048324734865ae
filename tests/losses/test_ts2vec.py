"""TS2Vec's hierarchical contrastive loss against a float64 NumPy port of the formula as the
paper's released code writes it (tril/triu logits, floor max-pooling, one scale per halving),
applied to the cut-out prefix ``z[:, :length]``."""

import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def _neg_log_softmax(x):
    x = np.asarray(x, np.float64)
    return -(x - h.log_sum_exp(x, axis=-1)[..., None])


def _drop_diagonal(sim):
    return np.tril(sim, -1)[..., :-1] + np.triu(sim, 1)[..., 1:]


def ref_instance(z1, z2):
    b = z1.shape[0]
    if b == 1:
        return 0.0
    z = np.concatenate([z1, z2]).transpose(1, 0, 2)  # T x 2B x D
    logits = _neg_log_softmax(_drop_diagonal(z @ z.transpose(0, 2, 1)))
    i = np.arange(b)
    return (logits[:, i, b + i - 1].mean() + logits[:, b + i, i].mean()) / 2


def ref_temporal(z1, z2):
    t = z1.shape[1]
    if t == 1:
        return 0.0
    z = np.concatenate([z1, z2], axis=1)  # B x 2T x D
    logits = _neg_log_softmax(_drop_diagonal(z @ z.transpose(0, 2, 1)))
    s = np.arange(t)
    return (logits[:, s, t + s - 1].mean() + logits[:, t + s, s].mean()) / 2


def _pool(z):
    half = z.shape[1] // 2
    return z[:, :2 * half].reshape(z.shape[0], half, 2, z.shape[2]).max(axis=2)


def reference(z1, z2, alpha=0.5, temporal_unit=0):
    z1, z2 = np.asarray(z1, np.float64), np.asarray(z2, np.float64)
    loss, d = 0.0, 0
    while z1.shape[1] > 1:
        loss += alpha * ref_instance(z1, z2)
        if d >= temporal_unit:
            loss += (1 - alpha) * ref_temporal(z1, z2)
        d += 1
        z1, z2 = _pool(z1), _pool(z2)
    if z1.shape[1] == 1:
        loss += alpha * ref_instance(z1, z2)
        d += 1
    return loss / d


def test_matches_reference_on_the_valid_prefix():
    cases, expected = [], []
    for seed, (b, t, d, length, alpha, unit) in enumerate(
            [(4, 9, 3, 9, 0.5, 0), (4, 9, 3, 6, 0.5, 0), (3, 16, 5, 11, 0.3, 1),
             (1, 7, 2, 7, 0.5, 0), (5, 8, 4, 1, 0.5, 0), (2, 12, 3, 2, 1.0, 0)]):
        z1, z2 = h.normal(seed, b, t, d), h.normal(seed + 100, b, t, d)
        z1[:, length:] = 50.0  # garbage after the overlap must not matter
        cases.append((z1, z2, np.int32(length), alpha, unit))
        expected.append(reference(z1[:, :length], z2[:, :length], alpha, unit))
    settings = [(al, u) for *_, al, u in cases]
    got = h.run(lambda arrays: [losses.hierarchical_contrastive_loss(
        a, c, length=n, alpha=al, temporal_unit=u) for (a, c, n), (al, u) in zip(
            arrays, settings)], [(z1, z2, n) for z1, z2, n, *_ in cases])
    h.assert_close(got, expected, rtol=2e-5)


def test_per_example_losses_average_to_the_loss():
    z1, z2 = h.normal(0, 6, 10, 4), h.normal(1, 6, 10, 4)
    per, total = h.run(lambda a, c: (
        losses.hierarchical_contrastive_loss(a, c, length=7, per_example=True),
        losses.hierarchical_contrastive_loss(a, c, length=7)), z1, z2)
    assert per.shape == (6,)
    h.assert_close(per.mean(), total)
    h.assert_close(total, reference(z1[:, :7], z2[:, :7]), rtol=2e-5)


def test_gradients_float64():
    z1, z2 = h.normal(0, 2, 5, 2), h.normal(1, 2, 5, 2)
    h.check_grads_x64(lambda a, c: losses.hierarchical_contrastive_loss(a, c, length=4), z1, z2)


def test_sharded_matches_full_batch():
    z1, z2 = h.normal(0, 16, 6, 4), h.normal(1, 16, 6, 4)
    h.assert_sharded_matches_full(
        lambda a, c, axis_name=None: losses.hierarchical_contrastive_loss(
            a, c, length=5, axis_name=axis_name), (z1, z2), (P("data"), P("data")))
