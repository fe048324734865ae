"""Checkpoints: orbax, the train state plus the data iterator's position, never pickle.

Orbax writes each checkpoint into a temporary directory and renames it when complete, so a
checkpoint is never half-visible, and it prunes old steps only after a newer one is committed.
If the newest checkpoint cannot be read (truncated, corrupt), restoring falls back to the
previous good one with a warning naming both steps; the unreadable directory is moved to
``<checkpoints>_unreadable/`` (never deleted: it may still hold something the user wants), so
the resumed run can commit that step number again.
"""

from __future__ import annotations

import logging
import os
import shutil
import time

import orbax.checkpoint as ocp

log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """No checkpoint in the directory could be restored."""


class Checkpointer:
    """Save and restore ``(train_state, data_state)`` pairs by step."""

    def __init__(self, directory: str, *, max_to_keep: int = 3):
        self.directory = os.path.abspath(directory)
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

    def restore(self, step: int, abstract_state):
        """``(state, data_state)`` saved at ``step``, laid out as ``abstract_state`` says
        (a pytree of ``jax.ShapeDtypeStruct`` with shardings)."""
        restored = self._manager.restore(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state),
                                    data=ocp.args.JsonRestore()),
        )
        return restored.state, restored.data

    def restore_latest(self, abstract_state):
        """``(step, state, data_state)`` from the newest readable checkpoint, or ``None`` if the
        directory has none. Unreadable newer checkpoints are moved aside with a warning."""
        steps = self.all_steps()
        failed = []
        for step in reversed(steps):
            try:
                state, data_state = self.restore(step, abstract_state)
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
        target_root = self.directory.rstrip(os.sep) + "_unreadable"
        os.makedirs(target_root, exist_ok=True)
        target = os.path.join(target_root, f"{step}-{int(time.time())}")
        shutil.move(os.path.join(self.directory, str(step)), target)
        self._manager.reload()
        return target

    def close(self) -> None:
        self._manager.close()
