import jax
import jax.numpy as jnp
import numpy as np

from contrastive_jax.losses import _common
from tests.losses import helpers as h


def test_upcast_keeps_wide_types_and_raises_narrow_ones():
    assert _common.upcast(jnp.ones(2, jnp.bfloat16)).dtype == jnp.float32
    assert _common.upcast(jnp.ones(2, jnp.float16)).dtype == jnp.float32
    assert _common.upcast(np.ones(2, np.float32)).dtype == jnp.float32
    with jax.enable_x64(True):
        assert _common.upcast(jnp.ones(2, jnp.float64)).dtype == jnp.float64


def test_l2_normalize_and_masked_logsumexp():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], np.float32)
    mask = np.array([[True, False, True], [False, True, False]])

    def probe(x, logits):
        return [_common.l2_normalize(x),
                jax.grad(lambda y: jnp.sum(_common.l2_normalize(y)))(x),
                _common.masked_logsumexp(logits, mask),
                jax.grad(lambda y: jnp.sum(_common.masked_logsumexp(y, mask)))(logits)]

    unit, unit_grad, lse, lse_grad = h.run(probe, x, logits)
    h.assert_close(unit, [[0.6, 0.8], [0.0, 0.0]])
    assert np.all(np.isfinite(unit_grad))  # the zero vector stays finite
    h.assert_close(lse, [np.log(np.exp(1) + np.exp(3)), -1.0])
    assert np.all(lse_grad[~mask] == 0) and np.all(np.isfinite(lse_grad))
    h.assert_close(lse_grad.sum(axis=1), [1.0, 1.0])
