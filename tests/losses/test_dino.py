"""DINO's loss and center update: float64 NumPy references from the paper's formulas (pairs of
teacher and other student views), gradients, the stop-gradient teacher, closed forms,
extreme temperatures, batches of one and two, and the 8-device ``shard_map`` form."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from contrastive_jax import losses
from tests.losses import helpers as h


def softmax(x):
    x = np.asarray(x, np.float64)
    return np.exp(x - h.log_sum_exp(x)[..., None])


def reference(student, teacher, center, student_temperature=0.1, teacher_temperature=0.04):
    total, pairs = 0.0, 0
    for g in range(len(teacher)):
        targets = softmax((np.asarray(teacher[g], np.float64) - center) / teacher_temperature)
        for v in range(len(student)):
            if v == g:
                continue
            logits = np.asarray(student[v], np.float64) / student_temperature
            log_p = logits - h.log_sum_exp(logits)[:, None]
            total += np.mean(-np.sum(targets * log_p, axis=1))
            pairs += 1
    return total / pairs


def reference_center(teacher, center, momentum=0.9):
    t = np.asarray(teacher, np.float64)
    return momentum * np.asarray(center, np.float64) + (1 - momentum) * t.reshape(
        -1, t.shape[-1]).mean(axis=0)


def outputs(seed, *shape):
    return (0.7 * h.normal(seed, *shape)).astype(np.float32)  # cosine-like head outputs


def test_matches_reference():
    settings = [((2, 1, 3), 2, 0.1, 0.04), ((2, 4, 5), 2, 0.1, 0.07), ((6, 3, 8), 2, 0.1, 0.04),
                ((4, 3, 8), 1, 0.2, 0.5), ((3, 5, 4), 3, 0.1, 0.04)]
    cases = []
    for i, (shape, g, s_t, t_t) in enumerate(settings):
        v, b, k = shape
        cases.append((outputs(i, v, b, k), outputs(10 + i, g, b, k), outputs(20 + i, k) * 0.1,
                      np.float32(s_t), np.float32(t_t)))
    h.assert_matches_reference(
        lambda s, t, c, st, tt: losses.dino(s, t, c, student_temperature=st,
                                            teacher_temperature=tt),
        reference, cases)


def test_center_matches_reference():
    teacher, center = outputs(0, 2, 5, 6), outputs(1, 6)
    got, got_half = h.run(lambda t, c: [losses.dino_center(t, c),
                                        losses.dino_center(t, c, momentum=0.5)], teacher, center)
    h.assert_close(got, reference_center(teacher, center))
    h.assert_close(got_half, reference_center(teacher, center, 0.5))


def test_gradients_float64_and_teacher_is_stop_gradient():
    student, teacher, center = outputs(0, 4, 3, 5), outputs(1, 2, 3, 5), outputs(2, 5) * 0.1
    h.check_grads_x64(lambda s: losses.dino(s, teacher.astype(s.dtype), center.astype(s.dtype),
                                            teacher_temperature=0.1), student)
    grad_teacher, grad_center = h.run(
        lambda t, c: jax.grad(lambda tt, cc: losses.dino(student, tt, cc), argnums=(0, 1))(t, c),
        teacher, center)
    assert np.all(grad_teacher == 0) and np.all(grad_center == 0)
    assert np.all(h.run(lambda t, c: jax.grad(lambda tt: jnp.sum(losses.dino_center(tt, c)))(t),
                        teacher, center) == 0)


def test_closed_forms_and_invariances():
    k = 6
    student = outputs(0, 3, 4, k)
    # A uniform teacher target: the loss is the mean log-partition minus the mean logit.
    uniform = np.zeros((2, 4, k), np.float32)
    logits = np.asarray(student, np.float64) / 0.1
    expected = np.mean([np.mean(h.log_sum_exp(logits[v]) - logits[v].mean(axis=1))
                        for g in range(2) for v in range(3) if v != g])
    # The center is a shift of the teacher: adding the same vector to both changes nothing;
    # a constant added to a row of logits changes no softmax.
    teacher, center = outputs(1, 2, 4, k), outputs(2, k)
    shift = outputs(3, k)
    value_uniform, base, shifted, row_const = h.run(lambda s, t, c, d: [
        losses.dino(s, jnp.zeros_like(t), jnp.zeros(k)),
        losses.dino(s, t, c), losses.dino(s, t + d, c + d),
        losses.dino(s + 3.0, t + 2.0, c)], student, teacher, center, shift)
    h.assert_close(value_uniform, expected)
    h.assert_close(shifted, base, atol=1e-5)
    h.assert_close(row_const, base, atol=1e-5)


def test_extreme_temperatures_and_small_batches_are_finite():
    for b in (1, 2):
        h.assert_finite_value_and_grads(
            lambda s, t: losses.dino(s, t, jnp.zeros(s.shape[-1]), student_temperature=0.01,
                                     teacher_temperature=0.01),
            (outputs(0, 3, b, 5) * 50, outputs(1, 2, b, 5) * 50),
            (outputs(2, 3, b, 5), outputs(3, 2, b, 5)))


def test_sharded_matches_full_batch():
    b = 2 * h.NUM_DEVICES
    student, teacher, center = outputs(0, 4, b, 6), outputs(1, 2, b, 6), outputs(2, 6) * 0.1
    h.assert_sharded_matches_full(
        lambda s, t, c, axis_name=None: losses.dino(s, t, c, axis_name=axis_name),
        (student, teacher, center), (P(None, "data"), P(None, "data"), P()), argnums=(0,))
    sharded = jax.shard_map(functools.partial(losses.dino_center, axis_name="data"),
                            mesh=h.mesh(), in_specs=(P(None, "data"), P()), out_specs=P())
    got, want = h.run(lambda t, c: [sharded(t, c), losses.dino_center(t, c)], teacher, center)
    h.assert_close(got, want)
    h.assert_close(want, reference_center(teacher, center))
