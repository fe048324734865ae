"""SogCLR / iSogCLR: values, updated estimators and temperatures against a float64 NumPy
reference written from the papers' algorithms (and the official code's choices), gradients
against finite differences of the objective they estimate, extreme settings, and the
8-device ``shard_map`` form against the full batch."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def reference(z1, z2, log_u, tau, gamma, *, tau_grad=None, rho=0.3, eta=0.01, beta=0.9,
              tau_min=0.05, tau_max=0.7):
    """Anchor by anchor: ``(loss, log_u_new)`` or, with ``tau_grad``, ``(loss, log_u_new,
    tau_new, tau_grad_new)``."""
    a1, a2 = h.unit(z1), h.unit(z2)
    b = len(a1)
    tau = np.broadcast_to(np.asarray(tau, np.float64), (b,))
    log_u = np.asarray(log_u, np.float64)
    loss, u_views, mean_scaled = 0.0, np.zeros((2, b)), np.zeros((2, b))
    for view, (anchors, partners) in enumerate(((a1, a2), (a2, a1))):
        for i in range(b):
            negatives = np.array([anchors[i] @ partners[j] for j in range(b) if j != i]
                                 + [anchors[i] @ anchors[j] for j in range(b) if j != i])
            e = np.exp(negatives / tau[i])
            g = e.mean()
            u = g if not np.isfinite(log_u[i]) else (1 - gamma) * np.exp(log_u[i]) + gamma * g
            weights = e / u
            loss += -anchors[i] @ partners[i] + np.mean(weights * negatives)
            u_views[view, i] = u
            mean_scaled[view, i] = np.mean(weights * negatives / tau[i])
    log_u_new = np.log((u_views[0] + u_views[1]) / 2)
    if tau_grad is None:
        return loss / b, log_u_new
    grad = np.mean(np.log(u_views) + rho - mean_scaled, axis=0)
    tau_grad_new = (1 - beta) * np.asarray(tau_grad, np.float64) + beta * grad
    return loss / b, log_u_new, np.clip(tau - eta * tau_grad_new, tau_min, tau_max), tau_grad_new


def estimated_objective(z1, z2, u_fixed, tau):
    """``sum_views mean_i [-s(a, p) + tau_i g_a(z) / u_a]`` with ``u_a`` held fixed: its gradient
    is SogCLR's gradient estimator (``tau d log u`` with ``u`` from the moving average)."""
    a1, a2 = h.unit(z1), h.unit(z2)
    b = len(a1)
    total = 0.0
    for view, (anchors, partners) in enumerate(((a1, a2), (a2, a1))):
        for i in range(b):
            negatives = np.array([anchors[i] @ partners[j] for j in range(b) if j != i]
                                 + [anchors[i] @ anchors[j] for j in range(b) if j != i])
            total += -anchors[i] @ partners[i] + tau[i] * np.exp(negatives / tau[i]).mean() / (
                u_fixed[view, i])
    return total / b


def view_estimators(z1, z2, log_u, tau, gamma):
    """Each view's ``u_a`` at this step (the reference's intermediate), [2, B]."""
    a1, a2 = h.unit(z1), h.unit(z2)
    b = len(a1)
    out = np.zeros((2, b))
    for view, (anchors, partners) in enumerate(((a1, a2), (a2, a1))):
        for i in range(b):
            negatives = np.array([anchors[i] @ partners[j] for j in range(b) if j != i]
                                 + [anchors[i] @ anchors[j] for j in range(b) if j != i])
            g = np.exp(negatives / tau[i]).mean()
            out[view, i] = g if not np.isfinite(log_u[i]) else (
                (1 - gamma) * np.exp(log_u[i]) + gamma * g)
    return out


def numeric_grad(fn, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = (fn(x + step) - fn(x - step)) / (2 * eps)
    return grad


def _log_u(seed, b, unseen=()):
    log_u = np.random.default_rng(seed).uniform(0.5, 3.0, b).astype(np.float32)
    log_u[list(unseen)] = -np.inf
    return log_u


def test_sogclr_matches_reference():
    settings = [(2, 4, 0.1, 0.9, (0, 1)), (5, 3, 0.5, 0.9, (1,)), (7, 6, 0.1, 0.5, ()),
                (6, 4, 0.2, 1.0, (2,))]
    cases = [(h.normal(i, b, d), h.normal(10 + i, b, d), _log_u(i, b, unseen))
             for i, (b, d, _, _, unseen) in enumerate(settings)]
    got = h.run(lambda *cs: [losses.sogclr(a, c, u, temperature=t, gamma=g)
                             for (a, c, u), (_, _, t, g, _) in zip(cs, settings)], *cases)
    for (a, c, u), (_, _, t, g, _), (value, log_u) in zip(cases, settings, got):
        want_value, want_log_u = reference(a, c, u, t, g)
        h.assert_close(value, want_value, rtol=1e-5, atol=1e-6)
        h.assert_close(log_u, want_log_u, rtol=1e-5, atol=1e-5)


def test_isogclr_matches_reference():
    settings = [(3, 4, 0.9, 0.3, 0.01, 0.9, (0,)), (6, 5, 0.5, 0.1, 0.5, 0.5, (1, 4)),
                (5, 3, 0.9, 0.3, 10.0, 0.9, ())]  # a large step hits the clip bounds
    cases = []
    for i, (b, d, *_rest, unseen) in enumerate(settings):
        rng = np.random.default_rng(i)
        cases.append((h.normal(i, b, d), h.normal(10 + i, b, d), _log_u(i, b, unseen),
                      rng.uniform(0.05, 0.7, b).astype(np.float32),
                      rng.normal(0, 0.5, b).astype(np.float32)))
    got = h.run(lambda *cs: [
        losses.isogclr(a, c, u, t, m, gamma=g, rho=r, eta=e, beta=be)
        for (a, c, u, t, m), (_, _, g, r, e, be, _) in zip(cs, settings)], *cases)
    clipped = False
    for (a, c, u, t, m), (_, _, g, r, e, be, _), (value, arrays) in zip(cases, settings, got):
        want = reference(a, c, u, t, g, tau_grad=m, rho=r, eta=e, beta=be)
        h.assert_close(value, want[0], rtol=1e-5, atol=1e-6)
        for got_array, want_array in zip(arrays, want[1:]):
            h.assert_close(got_array, want_array, rtol=1e-5, atol=1e-5)
        clipped |= bool(np.any(np.isin(np.float32(want[2]), np.float32([0.05, 0.7]))))
    assert clipped  # the bounds were exercised


def test_gradient_is_the_estimator_of_the_global_objective():
    """Reverse-mode gradients (float64) equal finite differences of the NumPy objective with
    this step's ``u`` held fixed, for seen and unseen examples and per-example temperatures."""
    b, d = 4, 3
    z1, z2 = h.normal(0, b, d, dtype=np.float64), h.normal(1, b, d, dtype=np.float64)
    log_u = _log_u(2, b, (1,)).astype(np.float64)
    tau = np.array([0.1, 0.3, 0.2, 0.5])
    u_fixed = view_estimators(z1, z2, log_u, tau, 0.9)
    with jax.enable_x64(True):
        grads = jax.jit(jax.grad(lambda a, c: losses.isogclr(
            a, c, log_u, tau, np.zeros(b), gamma=0.9)[0], argnums=(0, 1)))(z1, z2)
        sog_grads = jax.jit(jax.grad(lambda a, c: losses.sogclr(
            a, c, log_u, temperature=0.2, gamma=0.9)[0], argnums=(0, 1)))(z1, z2)
    want1 = numeric_grad(lambda x: estimated_objective(x, z2, u_fixed, tau), z1)
    want2 = numeric_grad(lambda x: estimated_objective(z1, x, u_fixed, tau), z2)
    np.testing.assert_allclose(grads[0], want1, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grads[1], want2, rtol=1e-6, atol=1e-8)
    tau_global = np.full(b, 0.2)
    u_global = view_estimators(z1, z2, log_u, tau_global, 0.9)
    want = numeric_grad(lambda x: estimated_objective(x, z2, u_global, tau_global), z1)
    np.testing.assert_allclose(sog_grads[0], want, rtol=1e-6, atol=1e-8)


def test_batch_permutation_and_scale_invariance():
    b = 6
    z1, z2, log_u = h.normal(0, b, 4), h.normal(1, b, 4), _log_u(3, b, (2,))
    perm = np.random.default_rng(0).permutation(b)
    (v, u), (v_perm, u_perm), (v_scaled, u_scaled) = h.run(
        lambda a, c, l, ap, cp, lp, a_s, c_s: [losses.sogclr(a, c, l), losses.sogclr(ap, cp, lp),
                                               losses.sogclr(a_s, c_s, l)],
        z1, z2, log_u, z1[perm], z2[perm], log_u[perm], h.row_scaled(z1, 1), h.row_scaled(z2, 2))
    h.assert_close(v_perm, v, atol=1e-6)
    h.assert_close(u_perm, u[perm], atol=1e-6)
    h.assert_close(v_scaled, v, atol=1e-6)
    h.assert_close(u_scaled, u, atol=1e-5)


def test_extreme_temperatures_and_batches_of_one_and_two_are_finite():
    for b in (1, 2):
        log_u = _log_u(0, b)
        h.assert_finite_value_and_grads(
            lambda a, c: losses.sogclr(a, c, log_u, temperature=0.01)[0],
            (h.normal(0, b, 4), h.normal(1, b, 4)), (h.normal(2, b, 4), h.normal(3, b, 4)))
        h.assert_finite_value_and_grads(
            lambda a, c: losses.isogclr(a, c, log_u, jnp.full(b, 0.01), jnp.zeros(b),
                                        tau_min=0.01)[0],
            (h.normal(0, b, 4), h.normal(1, b, 4)), (h.normal(2, b, 4), h.normal(3, b, 4)))
    # t = 0.01: exp(s / t) overflows float32, its log-domain estimator does not.
    b = 5
    z1, z2 = h.normal(0, b, 4), h.normal(1, b, 4)
    (value, log_u), (value_2, arrays) = h.run(
        lambda a, c: [losses.sogclr(a, c, jnp.full(b, -jnp.inf), temperature=0.01),
                      losses.isogclr(a, c, jnp.full(b, 1.0), jnp.full(b, 0.01), jnp.zeros(b),
                                     tau_min=0.01)], z1, z2)
    want_value, want_log_u = reference(z1, z2, np.full(b, -np.inf), 0.01, 0.9)
    h.assert_close(value, want_value, rtol=1e-4)
    h.assert_close(log_u, want_log_u, rtol=1e-5)
    assert np.isfinite(value_2) and all(np.all(np.isfinite(x)) for x in arrays)
    # One example, no negatives: the alignment term alone, the estimators unchanged.
    (value_1, log_u_1), = h.run(lambda a, c: [losses.sogclr(a, c, jnp.full(1, 2.0))],
                               z1[:1], z2[:1])
    h.assert_close(value_1, -2 * np.sum(h.unit(z1[:1]) * h.unit(z2[:1])))
    h.assert_close(log_u_1, [2.0])


def test_sharded_matches_full_batch_values_states_and_gradients():
    b = 2 * h.NUM_DEVICES
    z1, z2 = h.normal(0, b, 5), h.normal(1, b, 5)
    log_u = _log_u(4, b, (0, 5, 11))
    tau = np.random.default_rng(5).uniform(0.05, 0.7, b).astype(np.float32)
    tau_grad = np.random.default_rng(6).normal(0, 0.3, b).astype(np.float32)

    def both(fn, in_specs, out_specs, *args):
        sharded = jax.shard_map(functools.partial(fn, axis_name="data"), mesh=h.mesh(),
                                in_specs=in_specs, out_specs=out_specs)

        def with_grads(f):
            return jax.value_and_grad(lambda a, c, *rest: f(a, c, *rest)[0], argnums=(0, 1),
                                      has_aux=False)(*args), f(*args)[1]
        return h.jit(lambda: (with_grads(sharded), with_grads(fn)))()

    def sog(a, c, u, axis_name=None):
        return losses.sogclr(a, c, u, temperature=0.2, axis_name=axis_name)

    def isog(a, c, u, t, m, axis_name=None):
        return losses.isogclr(a, c, u, t, m, axis_name=axis_name)

    data = P("data")
    for fn, args, in_specs, out_specs in [
            (sog, (z1, z2, log_u), (data,) * 3, (P(), data)),
            (isog, (z1, z2, log_u, tau, tau_grad), (data,) * 5, (P(), (data,) * 3))]:
        ((value_s, grads_s), state_s), ((value_f, grads_f), state_f) = both(
            fn, in_specs, out_specs, *args)
        h.assert_close(value_s, value_f)
        for g_s, g_f in zip(grads_s, grads_f):
            scale = np.max(np.abs(np.asarray(g_f)))
            assert scale > 0
            h.assert_close(g_s, g_f, atol=1e-5 * scale)
        for a, c in zip(jax.tree.leaves(state_s), jax.tree.leaves(state_f)):
            h.assert_close(a, c, rtol=1e-5, atol=1e-6)
