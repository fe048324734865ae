"""Checkpoints: orbax, the train state plus the data iterator's position, never pickle.

Orbax writes each checkpoint into a temporary directory and renames it when complete, so a
checkpoint is never half-visible, and it prunes old steps only after a newer one is committed.
If the newest checkpoint cannot be read (truncated, corrupt), restoring falls back to the
previous good one with a warning naming both steps; the unreadable directory is moved to
``<checkpoints>_unreadable/`` (never deleted: it may still hold something the user wants), so
the resumed run can commit that step number again. A checkpoint whose array shapes differ from
the state the config builds (the architecture changed) is not damaged: restoring refuses with
one message naming the differing leaves, and nothing is moved.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import time

import jax
import orbax.checkpoint as ocp
from etils import epath

log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """No checkpoint in the directory could be restored."""


class ShapeMismatchError(CheckpointError):
    """The checkpoint's arrays have other shapes than the state the config builds."""


def _path_name(path) -> str:
    """``params.encoder.conv.0.kernel`` from a ``jax.tree_util`` key path."""
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return ".".join(parts)


def leaf_shapes(tree) -> dict[str, tuple]:
    """``{leaf name: shape}`` of a pytree of arrays, ``ShapeDtypeStruct`` or orbax metadata."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {_path_name(path): tuple(leaf.shape) for path, leaf in leaves
            if getattr(leaf, "shape", None) is not None}


def shape_differences(saved: dict[str, tuple], wanted: dict[str, tuple]) -> list[str]:
    """``name: checkpoint (16,) vs config (8,)`` per leaf whose shape differs or that only one
    side has; parameters first, then the rest, each sorted by name."""
    out = []
    for name in sorted(set(saved) | set(wanted), key=lambda n: (not n.startswith("params."), n)):
        old, new = saved.get(name, "absent"), wanted.get(name, "absent")
        if old != new:
            out.append(f"{name}: checkpoint {old} vs config {new}")
    return out


@contextlib.contextmanager
def _quiet_unraisable():
    """Drop the "Exception ignored in ..." reports that TensorStore's futures print while a
    failed restore is torn down (thousands of lines for one bad checkpoint); count them."""
    dropped = []
    previous = sys.unraisablehook
    sys.unraisablehook = dropped.append
    try:
        yield dropped
    finally:
        gc.collect()  # tear down the failed restore's futures while the hook is ours
        sys.unraisablehook = previous
        if dropped:
            log.debug("Dropped %d unraisable exception report(s) while restoring.", len(dropped))


class Checkpointer:
    """Save and restore ``(train_state, data_state)`` pairs by step."""

    def __init__(self, directory, *, max_to_keep: int = 3):
        """directory: a local path or any ``etils.epath`` URI (``gs://...``: orbax writes the
        arrays there through TensorStore)."""
        local = "://" not in os.fspath(directory)
        self.directory = epath.Path(os.path.abspath(directory) if local else directory)
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        )

    def all_steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        steps = self.all_steps()
        return steps[-1] if steps else None

    def save(self, step: int, state, data_state: dict) -> None:
        """Write the checkpoint for ``step`` and block until it is committed."""
        self._manager.save(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                    data=ocp.args.JsonSave(data_state)),
            force=True,
        )
        self._manager.wait_until_finished()

    def saved_shapes(self, step: int) -> dict[str, tuple]:
        """``{leaf name: shape}`` of the state saved at ``step``, from its metadata only."""
        path = self.directory / str(int(step)) / "state"
        metadata = ocp.StandardCheckpointHandler().metadata(path)
        return leaf_shapes(getattr(metadata, "item_metadata", metadata))

    def check_shapes(self, step: int, abstract_state) -> None:
        """``ShapeMismatchError`` naming the first differing leaves if the checkpoint at
        ``step`` was saved from a state of other shapes than ``abstract_state``. Metadata that
        cannot be read is left for ``restore`` to report as damage."""
        try:
            saved = self.saved_shapes(step)
        except Exception:  # orbax raises many types for damaged files
            return
        differences = shape_differences(saved, leaf_shapes(abstract_state))
        if differences:
            shown = "; ".join(differences[:3])
            more = f" (and {len(differences) - 3} more)" if len(differences) > 3 else ""
            raise ShapeMismatchError(
                f"the checkpoint at step {step} in {self.directory} holds arrays of other "
                f"shapes than this config builds (the architecture changed): {shown}{more}. "
                "Use a new --workdir, or run with the workdir's config.json settings.")

    def restore(self, step: int, abstract_state):
        """``(state, data_state)`` saved at ``step``, laid out as ``abstract_state`` says
        (a pytree of ``jax.ShapeDtypeStruct`` with shardings)."""
        with _quiet_unraisable():
            restored = self._manager.restore(
                int(step),
                args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state),
                                        data=ocp.args.JsonRestore()),
            )
        return restored.state, restored.data

    def restore_latest(self, abstract_state):
        """``(step, state, data_state)`` from the newest readable checkpoint, or ``None`` if the
        directory has none. Unreadable newer checkpoints are moved aside with a warning; a
        checkpoint of other shapes raises ``ShapeMismatchError`` and nothing is moved."""
        steps = self.all_steps()
        failed = []
        for step in reversed(steps):
            try:
                self.check_shapes(step, abstract_state)
                state, data_state = self.restore(step, abstract_state)
            except ShapeMismatchError:
                raise
            except Exception as error:  # orbax raises many types for damaged files
                log.warning("Checkpoint at step %d is unreadable (%s: %s).", step,
                            type(error).__name__, str(error)[:300])
                failed.append(step)
                continue
            if failed:
                moved = [self._move_aside(s) for s in failed]
                log.warning("Resuming from step %d: the newer checkpoint(s) at step(s) %s could not "
                            "be read and were moved to %s.", step, failed, moved)
            return step, state, data_state
        if failed:
            raise CheckpointError(
                f"None of the checkpoints {failed} in {self.directory} could be read. Move the "
                "directory aside to start from scratch.")
        return None

    def _move_aside(self, step: int) -> str:
        """Move the directory of an unreadable checkpoint out of the manager's way."""
        target_root = self.directory.parent / f"{self.directory.name}_unreadable"
        target_root.mkdir(parents=True, exist_ok=True)
        target = target_root / f"{step}-{int(time.time())}"
        (self.directory / str(step)).rename(target)
        self._manager.reload()
        return str(target)

    def close(self) -> None:
        self._manager.close()
