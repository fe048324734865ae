"""The sentence-embedding methods on synthetic token batches with a tiny text Transformer:
finite losses that decrease over a few steps, method state (momentum copy, queue) updated, and
the configuration errors."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from flax import nnx

from contrastive_jax.methods import sentence
from contrastive_jax.methods.options import options_from_config
from contrastive_jax.registry import METHODS

VOCAB, BATCH, LENGTH, WIDTH = 40, 8, 10, 16
ENCODER = ml_collections.ConfigDict(dict(name="text_transformer", vocab_size=VOCAB, width=WIDTH,
                                         depth=1, num_heads=2, causal=False, pool="mean"))
TINY = {"simcse": {}, "debcse": {"false_negative_threshold": 0.95},
        "whitenedcse": {"num_groups": 4, "num_views": 3},
        "esimcse": {"queue_size": 20}, "contriever": {"queue_size": 16, "momentum": 0.99}}


def tokens(seed=0):
    rng = np.random.default_rng(seed)
    out = np.zeros((BATCH, LENGTH), np.int32)
    for row, length in enumerate(rng.integers(4, LENGTH + 1, BATCH)):
        out[row, :length - 1] = rng.integers(3, VOCAB, length - 1)
        out[row, length - 1] = 2  # eot
    return out


def build(name, **overrides):
    cls = METHODS.get(name)
    options = options_from_config(cls.options_type, {**TINY[name], **overrides}, name)
    return cls(options, encoder=ENCODER, image_shape=(), make_views=None, num_views=1,
               batch_size=BATCH, total_steps=10, name=name)


@functools.lru_cache(maxsize=None)
def trained(name, steps=12):
    """One short run per method, shared by the tests (token_dropout makes the two views differ
    with the dropout-free test encoder)."""
    return train(build(name, token_dropout=0.2), steps)


def train(method, steps, lr=3e-3):
    batch = {"text": tokens()}
    model, state = method.init(jax.random.key(0), batch)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    optimizer = optax.adam(lr)
    opt_state = optimizer.init(params)

    @functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})
    def step(params, opt_state, state, rng):
        def objective(p):
            loss, (metrics, new_state) = method.loss(nnx.merge(graphdef, p, rest), state,
                                                     batch, rng)
            return loss, (metrics, new_state)
        (loss, (metrics, new_state)), grads = jax.value_and_grad(objective, has_aux=True)(
            params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, new_state, metrics

    history, states = [], [state]
    for i in range(steps):
        params, opt_state, state, metrics = step(params, opt_state, state, jax.random.key(i))
        history.append(float(metrics["loss"]))
        states.append(state)
    return np.array(history), states, nnx.merge(graphdef, params, rest)


@pytest.mark.parametrize("name", ["simcse", "debcse", "whitenedcse", "esimcse", "contriever"])
def test_loss_finite_and_decreases(name):
    losses, states, model = trained(name)
    assert np.all(np.isfinite(losses)), losses
    assert losses[-3:].mean() < losses[:3].mean(), losses
    embedded = sentence.SimCSE.embed(None, model, jnp.asarray(tokens(1)))
    assert embedded.shape == (BATCH, WIDTH) and np.all(np.isfinite(np.asarray(embedded)))


@pytest.mark.parametrize("name, size", [("esimcse", 20), ("contriever", 16)])
def test_queue_and_momentum_state(name, size):
    _, states, model = trained(name)
    first, last = states[0], states[-1]
    assert first["queue"].shape == (size, WIDTH) and int(last["step"]) == 12
    assert int(states[3]["pointer"]) == (3 * BATCH) % size  # ring write wraps for any K >= B
    norms = np.linalg.norm(np.asarray(last["queue"]), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    written = np.arange(12 * BATCH) % size
    assert not np.allclose(np.asarray(last["queue"])[written], np.asarray(first["queue"])[written])
    # the target moved towards the online weights but is not equal to them
    target = jax.tree.leaves(last["target"])
    online = jax.tree.leaves(nnx.state(model, nnx.Param))
    start = jax.tree.leaves(first["target"])
    moved = [np.abs(np.asarray(t) - np.asarray(s)).max() for t, s in zip(target, start)]
    gap = [np.abs(np.asarray(t) - np.asarray(o)).max() for t, o in zip(target, online)]
    assert max(moved) > 0 and max(gap) > 0


def test_momentum_update_is_the_ema():
    method = build("contriever", momentum=0.5)
    batch = {"text": tokens()}
    model, state = method.init(jax.random.key(0), batch)
    # perturb the online weights so online != target
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda p: p + 1.0, params))
    graphdef, variables = nnx.split(model)
    new = jax.jit(lambda v, s: method.loss(nnx.merge(graphdef, v), s, batch,
                                           jax.random.key(1))[1][1])(variables, state)
    for t_new, t_old, online in zip(jax.tree.leaves(new["target"]),
                                    jax.tree.leaves(state["target"]),
                                    jax.tree.leaves(nnx.state(model, nnx.Param))):
        np.testing.assert_allclose(np.asarray(t_new),
                                   0.5 * np.asarray(t_old) + 0.5 * np.asarray(online), rtol=1e-6)


def test_configuration_errors():
    with pytest.raises(ValueError, match="queue_size=4 must be at least the global batch"):
        build("esimcse", queue_size=4)
    with pytest.raises(ValueError, match=r"num_groups=5 must divide .* valid: \[1, 2, 4, 8, 16\]"):
        build("whitenedcse", num_groups=5).init(jax.random.key(0), {"text": tokens()})
    with pytest.raises(ValueError, match="needs batches with a 'text' field"):
        build("simcse").init(jax.random.key(0), {"image": np.zeros((2, 4, 4, 1))})
    with pytest.raises(ValueError, match="raise config.encoder.vocab_size"):
        build("simcse").init(jax.random.key(0), {"text": tokens() + VOCAB})
    with pytest.raises(ValueError, match="unknown option"):
        build("simcse", dup_rate=0.3)


@pytest.mark.parametrize("name, forms", [
    ("simcse", [("all_gather", 0), ("ring", 4), ("global", 4)]),
    ("esimcse", [("all_gather", 0), ("ring", 4)]),
    ("debcse", [("all_gather", 0)])])
def test_sharded_loss_forms_equal_the_global_batch(name, forms):
    """The loss over 8 simulated devices (shard_map + axis_name) equals the global one."""
    mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:8]), ("data",))
    batch = {"text": jax.device_put(tokens(), jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec("data")))}
    base = build(name)
    model, state = base.init(jax.random.key(0), {"text": tokens()})
    graphdef, variables = nnx.split(model)
    methods = [base] + [build(name, cross_device=c, loss_block_size=k) for c, k in forms]

    def all_losses(v, s, b):
        with jax.sharding.use_abstract_mesh(mesh.abstract_mesh):
            return [m.loss(nnx.merge(graphdef, v), s, b, jax.random.key(5))[0]
                    for m in methods]

    values = jax.jit(all_losses)(variables, state, batch)
    for value, form in zip(values[1:], forms):
        np.testing.assert_allclose(float(value), float(values[0]), rtol=2e-5, err_msg=str(form))


def test_impossible_forms_fail():
    with pytest.raises(ValueError, match="set config.method.loss_block_size > 0"):
        build("simcse", cross_device="ring")
    from contrastive_jax.methods.batch_loss import check_loss_form
    options = build("debcse", loss_block_size=8).options
    with pytest.raises(ValueError, match="no blockwise form"):
        check_loss_form("debcse", options, METHODS.get("debcse").loss_forms(options))


def test_debcse_logs_the_share_of_negatives_it_keeps():
    """negatives_kept against NumPy's count of off-diagonal cosines below the threshold; with
    every pair above the threshold nothing is contrasted and the loss is exactly 0."""
    batch = {"text": tokens()}
    model, state = build("debcse").init(jax.random.key(0), batch)
    rng = jax.random.key(3)
    for threshold in (2.0, 0.5, -2.0):
        method = build("debcse", false_negative_threshold=threshold, token_dropout=0.2)
        loss, (metrics, _) = method.loss(model, state, batch, rng)
        z1, z2 = (np.asarray(z, np.float64) for z in method.two_views(model, batch["text"], rng))
        z1 /= np.linalg.norm(z1, axis=1, keepdims=True)
        z2 /= np.linalg.norm(z2, axis=1, keepdims=True)
        off_diagonal = ~np.eye(BATCH, dtype=bool)
        expected = np.mean((z1 @ z2.T)[off_diagonal] < threshold)
        assert float(metrics["negatives_kept"]) == pytest.approx(expected, abs=1e-6)
        if threshold == 2.0:
            assert expected == 1.0
        if threshold == -2.0:
            assert expected == 0.0 and float(loss) == pytest.approx(0.0, abs=1e-6)
