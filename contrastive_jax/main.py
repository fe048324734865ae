"""Train and evaluate one experiment: ``--config`` (an ml_collections file) and ``--workdir``.

    python -m contrastive_jax.main --config=configs/simclr.py --workdir=runs/simclr
    python -m contrastive_jax.main --config=configs/simclr.py:scale=tiny --workdir=/tmp/t \
        --config.total_steps=20

Re-running the same command on the same workdir resumes from its newest checkpoint; raising
``--config.total_steps`` continues a finished run. Errors in the config or the workdir are
reported in one message, before anything compiles.
"""

from __future__ import annotations

import difflib
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
    "auto: initialize jax.distributed when coordinator flags are given or JAX's cluster "
    "detection finds a multi-process job (TPU pod, SLURM, GKE, Open MPI, Kubernetes); "
    "on: always; off: never (one process).")
flags.mark_flags_as_required(["config", "workdir"])


# Looked at only when JAX's own cluster detection (a private API) cannot be imported.
CLUSTER_ENV_VARS = ("SLURM_JOB_ID", "TPU_WORKER_HOSTNAMES", "MEGASCALE_COORDINATOR_ADDRESS")


def _jax_cluster_types() -> list | None:
    """JAX's cluster environments (``jax._src.clusters.ClusterEnv`` subclasses: Cloud TPU VM
    pods on GCE and GKE, SLURM, Open MPI, Kubernetes) in the order ``jax.distributed`` tries
    them, without the opt-in-only ones (mpi4py); None if this JAX lacks that private API."""
    try:
        from jax._src import clusters
        return [env for env in clusters.ClusterEnv._cluster_types
                if not getattr(env, "opt_in_only_method", False)]
    except (ImportError, AttributeError):
        return None


def _cluster_detected() -> str | None:
    """The name of the multi-process environment this process belongs to, or None.

    Asks JAX's own detection (the environment ``jax.distributed.initialize()`` would use) and
    counts it only if it reports more than one process, so a one-task SLURM job or a single
    TPU VM host stays a plain one-process run. Without that API: the listed variables.
    """
    types = _jax_cluster_types()
    if types is None:
        return next((name for name in CLUSTER_ENV_VARS if name in os.environ), None)
    for env in types:
        try:
            if not env.is_env_present():
                continue
        except Exception:  # a detector that cannot even look: not this environment
            continue
        try:
            count = int(env.get_process_count())
        except Exception:  # present but unreadable: let jax.distributed report it
            return env.__name__
        if count > 1:
            return env.__name__
        return None  # JAX would pick this environment: one process, nothing to join
    return None


def initialize_distributed(mode: str, coordinator_address, num_processes, process_id) -> None:
    """Join the multi-process job, before any other JAX call.

    ``auto``: when coordinator flags are given or ``_cluster_detected`` finds a multi-process
    environment (JAX then reads the coordinator, process count and id from it). On a CPU the
    processes talk over gloo collectives (e.g. 2 processes on 127.0.0.1).
    """
    explicit = coordinator_address is not None
    if mode == "off" or (mode == "auto" and not explicit and not _cluster_detected()):
        return
    import jax

    if jax.config.jax_platforms in (None, "", "cpu") or os.environ.get("JAX_PLATFORMS") == "cpu":
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)


def _config_spec(argv) -> str | None:
    """``PATH[:ARGS]`` of ``--config=PATH[:ARGS]`` (or ``--config PATH``) in ``argv``."""
    for i, arg in enumerate(argv):
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _ensure_repo_on_path(argv=None) -> None:
    """``--config=configs/x.py`` imports ``configs.common``: make the root of the config file's
    package importable (the repository root, from whatever directory the command runs in).

    The root is the parent of the outermost directory above the file that has an
    ``__init__.py``; the current directory is kept importable too.
    """
    roots = [os.getcwd()]
    path = (_config_spec(sys.argv if argv is None else argv) or "").split(":", 1)[0]
    if path and os.path.isfile(path):
        package = os.path.dirname(os.path.abspath(path))
        while os.path.isfile(os.path.join(package, "__init__.py")):
            package, child = os.path.dirname(package), package
            if package == child:
                break
        roots.append(package)
    for root in roots:
        if root not in sys.path:
            sys.path.insert(0, root)


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
    except (ValueError, KeyError, CheckpointError) as error:
        message = error.args[0] if error.args else repr(error)
        print(f"\nerror: {message}", file=sys.stderr, flush=True)
        return 2
    except OSError as error:  # FileNotFoundError (data not prepared), a full disk, ...
        message = error.args[0] if len(error.args) == 1 else str(error)
        print(f"\nerror: {message}", file=sys.stderr, flush=True)
        return 2
    return 0


def _unknown_override(argv) -> str | None:
    """``unknown config key 'a.b'. Did you mean 'a.c'?`` for the first ``--config.a.b=...`` in
    ``argv`` that names no key of the loaded config, else None."""
    spec = _config_spec(argv)
    try:  # the flag holds no value after a failed override: load the file again
        from ml_collections.config_flags.config_flags import ConfigFileFlagParser
        config = ConfigFileFlagParser(name="config").parse(spec)
    except Exception:  # the config file itself failed: reported elsewhere
        return None
    for arg in argv:
        if not arg.startswith("--config."):
            continue
        parts = arg[len("--config."):].split("=", 1)[0].split(".")
        node = config
        for depth, part in enumerate(parts):
            if hasattr(node, "keys") and part in node.keys():
                node = node[part]
                continue
            prefix = ".".join(parts[:depth])
            full = ".".join(parts)
            if not hasattr(node, "keys"):
                return (f"unknown config key {full!r}: config.{prefix} is a "
                        f"{type(node).__name__}, not a group of keys.")
            known = [str(k) for k in node.keys()]
            close = difflib.get_close_matches(part, known, n=1, cutoff=0.6)
            if close:
                guess = ".".join(parts[:depth] + close + parts[depth + 1:])
                return f"unknown config key {full!r}. Did you mean {guess!r}?"
            return (f"unknown config key {full!r}; the keys of config{'.' * bool(prefix)}"
                    f"{prefix} are {', '.join(known)}.")
    return None


def _load_error(error: Exception) -> str:
    """One line from ml_collections' config-file error (which embeds a traceback)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if any("No such file or directory" in line for line in lines):
        path = next((line for line in lines if line.endswith(".py")), "the config file")
        return (f"config file {path} not found (from {os.getcwd()}); pass the path of an "
                "existing file, e.g. --config=configs/simclr.py.")
    return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"


def parse_flags(argv):
    """absl's flag parsing, with config errors (an unknown ``--config.<key>``, a value of the
    wrong type, a missing or broken config file) reported in one line instead of a traceback."""
    try:
        parsed = flags.FLAGS(argv)
        _CONFIG.value.keys()  # a config file that failed to load raises only when used
        return parsed
    except (flags.UnrecognizedFlagError, KeyError, AttributeError) as error:
        message = _unknown_override(argv) or _load_error(error)
    except flags.Error as error:
        message = _load_error(error)
    except (TypeError, ValueError) as error:
        message = f"bad --config.* override: {error}"
    except OSError as error:
        message = _load_error(error)
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger("absl").setLevel(logging.WARNING)
    initialize_distributed(_DISTRIBUTED.value, _COORDINATOR.value, _NUM_PROCESSES.value,
                           _PROCESS_ID.value)
    from contrastive_jax.train import compile_cache

    compile_cache.enable(_CONFIG.value.get("compilation_cache_dir", "auto"))
    sys.exit(run(_CONFIG.value, _WORKDIR.value))


if __name__ == "__main__":
    _ensure_repo_on_path(sys.argv)
    app.run(main, flags_parser=parse_flags)
