import jax
import ml_collections
import numpy as np
import pytest

from contrastive_jax.train import mesh as mesh_lib
from contrastive_jax.train.optim import make_optimizer


@pytest.mark.parametrize("data,fsdp,expected", [(-1, 1, (8, 1)), (4, 2, (4, 2)), (2, -1, (2, 4))])
def test_mesh_shape(data, fsdp, expected):
    config = ml_collections.ConfigDict(dict(data=data, fsdp=fsdp))
    assert mesh_lib.mesh_shape(config, 8) == expected
    assert dict(mesh_lib.make_mesh(config).shape) == dict(zip(mesh_lib.MESH_AXES, expected))


def test_mesh_that_does_not_cover_devices_is_an_error():
    with pytest.raises(ValueError, match="does not cover the 8 devices"):
        mesh_lib.mesh_shape(ml_collections.ConfigDict(dict(data=3, fsdp=1)), 8)


def test_batch_not_divisible_by_devices_is_an_error():
    mesh = mesh_lib.make_mesh(ml_collections.ConfigDict(dict(data=-1, fsdp=1)))
    with pytest.raises(ValueError, match="not divisible by the 8 devices"):
        mesh_lib.check_batch_divisible(36, mesh)
    mesh_lib.check_batch_divisible(40, mesh)


def test_global_batch_is_sharded_over_all_devices():
    mesh = mesh_lib.make_mesh(ml_collections.ConfigDict(dict(data=4, fsdp=2)))
    local = {"image": np.arange(16 * 3, dtype=np.float32).reshape(16, 3)}
    batch = mesh_lib.global_batch(local, mesh_lib.batch_sharding(mesh))
    assert len(batch["image"].addressable_shards) == 8
    assert batch["image"].addressable_shards[0].data.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(batch["image"]), local["image"])


def test_warmup_cosine_schedule_closed_form():
    config = ml_collections.ConfigDict(dict(name="adamw", learning_rate=0.1, warmup_steps=10,
                                            weight_decay=0.0, final_lr_fraction=0.0))
    _, schedule = make_optimizer(config, total_steps=110)
    assert float(schedule(0)) == 0.0
    np.testing.assert_allclose(float(schedule(5)), 0.05, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(10)), 0.1, rtol=1e-6)
    # halfway through the cosine part: 0.1 * (1 + cos(pi / 2)) / 2
    np.testing.assert_allclose(float(schedule(60)), 0.05, rtol=1e-5)
    np.testing.assert_allclose(float(schedule(110)), 0.0, atol=1e-8)


def test_unknown_optimizer_and_bad_learning_rate():
    config = ml_collections.ConfigDict(dict(name="adamax", learning_rate=0.1, warmup_steps=0))
    with pytest.raises(ValueError, match="Valid optimizer names: adamw, sgd, lars"):
        make_optimizer(config, 10)
    config = ml_collections.ConfigDict(dict(name="adamw", learning_rate=float("inf"), warmup_steps=0))
    with pytest.raises(ValueError, match="finite positive"):
        make_optimizer(config, 10)


@pytest.mark.parametrize("name", ["adamw", "sgd", "lars"])
def test_weight_decay_skips_biases_norm_scales_and_scalars(name):
    import jax.numpy as jnp
    from flax import nnx

    class Tiny(nnx.Module):
        def __init__(self):
            self.dense = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
            self.log_logit_scale = nnx.Param(jnp.asarray(2.0))

    params = nnx.state(Tiny(), nnx.Param)
    config = ml_collections.ConfigDict(dict(name=name, learning_rate=0.5, warmup_steps=0,
                                            weight_decay=0.1, final_lr_fraction=1.0))
    tx, _ = make_optimizer(config, total_steps=10)
    zero_grads = jax.tree.map(jnp.zeros_like, params)
    updates, _ = tx.update(zero_grads, tx.init(params), params)
    kernel = np.asarray(params["dense"]["kernel"][...])
    kernel_update = np.asarray(updates["dense"]["kernel"][...])
    # With zero gradients the only update is decay: -lr * wd * w for adamw/sgd; LARS scales it
    # by its trust ratio, so only its direction (-w) is checked there.
    if name == "lars":
        cosine = np.sum(kernel_update * -kernel) / (
            np.linalg.norm(kernel_update) * np.linalg.norm(kernel))
        assert cosine > 0.999
    else:
        np.testing.assert_allclose(kernel_update, -0.5 * 0.1 * kernel, rtol=1e-5)
    assert np.all(np.asarray(updates["dense"]["bias"][...]) == 0.0)
    assert float(updates["log_logit_scale"][...]) == 0.0
    config.decay_all = True
    tx, _ = make_optimizer(config, total_steps=10)
    updates, _ = tx.update(zero_grads, tx.init(params), params)
    assert float(updates["log_logit_scale"][...]) != 0.0
