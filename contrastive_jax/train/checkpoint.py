"""Checkpoints: orbax, the train state plus the data iterator's position, never pickle.

Orbax writes each checkpoint into a temporary directory and renames it when complete, so a
checkpoint is never half-visible, and it prunes old steps only after a newer one is committed.
If the newest checkpoint cannot be read (truncated, corrupt), restoring falls back to the
previous good one with a warning naming both steps.
"""

from __future__ import annotations

import logging
import os

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
        directory has none. Unreadable newer checkpoints are skipped with a warning."""
        steps = self.all_steps()
        failed = []
        for step in reversed(steps):
            try:
                state, data_state = self.restore(step, abstract_state)
            except Exception as error:  # orbax raises many types for damaged files
                log.warning("Checkpoint at step %d is unreadable (%s: %s).", step,
                            type(error).__name__, error)
                failed.append(step)
                continue
            if failed:
                log.warning("Resuming from step %d instead of the newest checkpoint(s) %s, which "
                            "could not be read.", step, failed)
            return step, state, data_state
        if failed:
            raise CheckpointError(
                f"None of the checkpoints {failed} in {self.directory} could be read. Move the "
                "directory aside to start from scratch.")
        return None

    def close(self) -> None:
        self._manager.close()
