"""DBPM's memory, bad-pair identification and reweighting against a float64 NumPy replay of
the released training loop's bookkeeping (a dict of per-example loss lists, epoch-weighted
means, thresholds, ``scipy.stats.norm.pdf`` weights)."""

import numpy as np
from scipy.stats import norm

from contrastive_jax import losses
from tests.losses import helpers as h


def test_memory_and_weights_match_the_released_bookkeeping():
    rng = np.random.default_rng(0)
    n, batch, epochs = 12, 4, 5
    memory = {k: [] for k in range(n)}
    sums, counts = np.zeros(n, np.float32), np.zeros(n, np.int32)
    for epoch in range(epochs - 1):
        for start in range(0, n, batch):
            index = rng.permutation(n)[:batch] if start else np.arange(batch) + 4 * epoch % n
            loss = rng.uniform(0, 3, batch).astype(np.float32)
            index[0] = 11  # one example with a distinct history
            loss[0] = 9.0 if epoch % 2 else 0.01
            for i, l in zip(index, loss):
                memory[int(i)].append(float(l) * (epoch + 1) / epochs)
            sums, counts = h.run(lambda s, c, i, l, e=epoch: losses.update_memory(
                s, c, i, l, epoch=e, num_epochs=epochs), sums, counts, index, loss)
            counts = counts.astype(np.int32)
    means = np.array([np.mean(v) if v else 0.0 for v in memory.values()])
    seen = np.array([bool(v) for v in memory.values()])
    mu, sd = means[seen].mean(), means[seen].std()
    got_means, got_mu, got_sd = h.run(losses.memory_statistics, sums, counts)
    h.assert_close(got_means, means, rtol=1e-5)
    h.assert_close([got_mu, got_sd], [mu, sd], rtol=1e-5)

    current = np.array([0.5, 1.0, 2.0, 3.0], np.float32)
    history = np.array([mu - 2.5 * sd, mu, mu + 3.5 * sd, mu + 1.0 * sd], np.float32)
    expected = np.where((history <= mu - 2 * sd) | (history >= mu + 3 * sd),
                        norm(mu, sd).pdf(current), 1.0)
    weights = h.run(lambda l, m: losses.dbpm_weights(l, m, mu, sd), current, history)
    h.assert_close(weights, expected, rtol=1e-5)
    assert list(weights == 1.0) == [False, True, False, True]
    off = h.run(lambda l, m: losses.dbpm_weights(l, m, mu, sd, active=False), current, history)
    h.assert_close(off, np.ones(4))
    h.assert_close(h.run(losses.dbpm_loss, current, weights), np.mean(current * expected),
                   rtol=1e-5)


def test_weights_are_constants_to_the_gradient():
    loss = np.array([0.2, 1.0, 4.0])
    history = np.array([0.0, 1.0, 9.0])
    # d/dl mean(w l) = w / B with w stop-gradient, checked in float64 by finite differences
    # on a loss whose weights do not move with l (history fixed, weights from the history only
    # when the current loss is held in the density: so differentiate through dbpm_loss alone).
    weights = h.run(lambda l, m: losses.dbpm_weights(l, m, 1.0, 0.5, cut_np=1.0, cut_fp=1.0),
                    loss, history)
    h.check_grads_x64(lambda l: losses.dbpm_loss(l, weights), loss)
    import jax
    grad = jax.grad(lambda l: losses.dbpm_loss(
        l, losses.dbpm_weights(l, history, 1.0, 0.5, cut_np=1.0, cut_fp=1.0)))(loss)
    h.assert_close(grad, weights / 3)
