"""Train and evaluate one experiment: ``--config`` (an ml_collections file) and ``--workdir``.

    python -m contrastive_jax.main --config=configs/simclr.py --workdir=runs/simclr
    python -m contrastive_jax.main --config=configs/simclr.py:scale=tiny --workdir=/tmp/t \
        --config.total_steps=20

Re-running the same command on the same workdir resumes from its newest checkpoint; raising
``--config.total_steps`` continues a finished run. Errors in the config or the workdir are
reported in one message, before anything compiles.
"""

from __future__ import annotations

import logging
import os
import sys

from absl import app, flags
from absl import logging as absl_logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/simclr.py:scale=small.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and results.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None,
    "Multi-host: host:port of process 0. Leave unset on TPU pods and SLURM (auto-detected).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.")
_DISTRIBUTED = flags.DEFINE_enum(
    "distributed", "auto", ["auto", "on", "off"],
    "auto: initialize jax.distributed when coordinator flags are given or a TPU pod / SLURM job "
    "is detected; on: always; off: never (one process).")
flags.mark_flags_as_required(["config", "workdir"])


def _cluster_detected() -> bool:
    return any(name in os.environ for name in ("SLURM_JOB_ID", "TPU_WORKER_HOSTNAMES",
                                               "MEGASCALE_COORDINATOR_ADDRESS"))


def initialize_distributed(mode: str, coordinator_address, num_processes, process_id) -> None:
    """Join the multi-process job, before any other JAX call.

    On a CPU the processes talk over gloo collectives (e.g. 2 processes on 127.0.0.1).
    """
    explicit = coordinator_address is not None
    if mode == "off" or (mode == "auto" and not explicit and not _cluster_detected()):
        return
    import jax

    if jax.config.jax_platforms in (None, "", "cpu") or os.environ.get("JAX_PLATFORMS") == "cpu":
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)


def _ensure_repo_on_path() -> None:
    """``--config=configs/x.py`` imports ``configs.common``: make the repo root importable."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def run(config, workdir: str) -> int:
    """Train and evaluate; return a process exit code with errors already explained."""
    from contrastive_jax.train import loop
    from contrastive_jax.train.checkpoint import CheckpointError

    try:
        loop.train_and_evaluate(config, workdir)
    except loop.Preempted as stop:
        print(f"\n{stop}", file=sys.stderr, flush=True)
        return 128 + stop.signum
    except loop.NonFiniteLossError as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
        return 3
    except (ValueError, KeyError, FileNotFoundError, CheckpointError) as error:
        message = error.args[0] if error.args else repr(error)
        print(f"\nerror: {message}", file=sys.stderr, flush=True)
        return 2
    return 0


def parse_flags(argv):
    """absl's flag parsing, with config errors (an unknown ``--config.<key>``, a value of the
    wrong type, a broken config file) reported in one line instead of a traceback."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        # ml_collections embeds the config file's traceback: keep its first and last lines.
        message = lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1].strip()}"
    except (KeyError, AttributeError) as error:
        key = str(error.args[0] if error.args else error).strip("'\"")
        message = (f"unknown config key {key!r} in the --config.* overrides; each must name a "
                   "key that the config file defines.")
    except (TypeError, ValueError) as error:
        message = f"bad --config.* override: {error}"
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger("absl").setLevel(logging.WARNING)
    initialize_distributed(_DISTRIBUTED.value, _COORDINATOR.value, _NUM_PROCESSES.value,
                           _PROCESS_ID.value)
    sys.exit(run(_CONFIG.value, _WORKDIR.value))


if __name__ == "__main__":
    _ensure_repo_on_path()
    app.run(main, flags_parser=parse_flags)
