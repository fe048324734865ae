"""Checkpoints: exact round trip, fallback past a damaged newest checkpoint, nothing deleted."""

import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax.train.checkpoint import CheckpointError, Checkpointer, ShapeMismatchError


def _state(value):
    return {"step": jnp.int32(value), "params": {"w": jnp.full((3, 4), float(value))},
            "key_data": jnp.arange(4, dtype=jnp.uint32) + value}


def _abstract():
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), _state(0))


def _truncate_all_files(directory):
    damaged = 0
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), "r+b") as f:
                f.truncate(max(0, os.path.getsize(f.name) // 3))
            damaged += 1
    assert damaged > 0


def test_round_trip_is_exact(tmp_path):
    checkpointer = Checkpointer(str(tmp_path / "ckpt"))
    checkpointer.save(5, _state(5), {"position": 17})
    step, state, data = checkpointer.restore_latest(_abstract())
    assert step == 5 and data == {"position": 17}
    jax.tree.map(np.testing.assert_array_equal, state, _state(5))


def test_keeps_only_the_newest_k(tmp_path):
    checkpointer = Checkpointer(str(tmp_path / "ckpt"), max_to_keep=2)
    for step in (1, 2, 3):
        checkpointer.save(step, _state(step), {})
    assert checkpointer.all_steps() == [2, 3]


def test_damaged_newest_falls_back_and_is_moved_aside(tmp_path, caplog):
    directory = tmp_path / "ckpt"
    checkpointer = Checkpointer(str(directory))
    checkpointer.save(10, _state(10), {"position": 1})
    checkpointer.save(20, _state(20), {"position": 2})
    checkpointer.close()
    _truncate_all_files(directory / "20")

    checkpointer = Checkpointer(str(directory))
    with caplog.at_level(logging.WARNING):
        step, state, data = checkpointer.restore_latest(_abstract())
    assert step == 10 and data == {"position": 1}
    jax.tree.map(np.testing.assert_array_equal, state, _state(10))
    assert "step 10" in caplog.text and "[20]" in caplog.text
    # Moved, not deleted; and step 20 can be committed again by the resumed run.
    assert len(os.listdir(tmp_path / "ckpt_unreadable")) == 1
    checkpointer.save(20, _state(21), {"position": 3})
    assert checkpointer.all_steps() == [10, 20]


def test_no_readable_checkpoint_is_a_clear_error(tmp_path):
    directory = tmp_path / "ckpt"
    checkpointer = Checkpointer(str(directory))
    checkpointer.save(1, _state(1), {})
    checkpointer.close()
    _truncate_all_files(directory / "1")
    with pytest.raises(CheckpointError, match="could be read"):
        Checkpointer(str(directory)).restore_latest(_abstract())


def test_empty_directory_restores_nothing(tmp_path):
    assert Checkpointer(str(tmp_path / "ckpt")).restore_latest(_abstract()) is None


def _snapshot(directory):
    """``{relative path: (bytes, mtime_ns)}`` of every file under ``directory``."""
    out = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def test_other_shapes_are_refused_naming_the_leaves_and_nothing_is_moved(tmp_path, capfd):
    directory = tmp_path / "ckpt"
    checkpointer = Checkpointer(str(directory))
    checkpointer.save(10, _state(10), {"position": 1})
    checkpointer.close()
    before = _snapshot(tmp_path)
    # The architecture changed: w is now [3, 2] and a new leaf b appeared.
    abstract = dict(_abstract(), params={"w": jax.ShapeDtypeStruct((3, 2), jnp.float32),
                                         "b": jax.ShapeDtypeStruct((2,), jnp.float32)})
    with pytest.raises(ShapeMismatchError) as raised:
        Checkpointer(str(directory)).restore_latest(abstract)
    message = str(raised.value)
    assert "params.b: checkpoint absent vs config (2,)" in message
    assert "params.w: checkpoint (3, 4) vs config (3, 2)" in message
    assert "\n" not in message
    assert _snapshot(tmp_path) == before  # nothing moved aside, rewritten or deleted
    assert not (tmp_path / "ckpt_unreadable").exists()
    assert "Exception ignored" not in capfd.readouterr().err


def test_same_shapes_restore_after_the_metadata_check(tmp_path):
    checkpointer = Checkpointer(str(tmp_path / "ckpt"))
    checkpointer.save(3, _state(3), {})
    assert checkpointer.saved_shapes(3) == {"step": (), "params.w": (3, 4), "key_data": (4,)}
