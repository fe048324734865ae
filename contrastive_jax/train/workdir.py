"""The workdir's config record: compared on every run, written once the run is known to work.

Re-running a command on a workdir resumes it, so the workdir must belong to the same
experiment. Keys that only control how long or how visibly a run goes may change between runs
(``IDENTITY_EXEMPT``); anything else refuses to resume unless ``--config.resume=force``. ``config.json`` is written
only after every check has passed and the state was built or restored (``train.loop``), so a
command that is rejected leaves no identity behind to refuse the corrected command.

Every workdir path goes through ``etils.epath``, so a workdir may be local or any URI epath
reads and writes (``gs://``, ``s3://``, ... through fsspec); the helpers below hide the two
differences that matter: object stores have no atomic rename (a whole object appears at once
when written) and libraries that only write local files (matplotlib, TensorBoard) stage them
in a local directory that is copied over.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid

import ml_collections
from etils import epath

IDENTITY_EXEMPT = ("total_steps", "eval", "checkpoint", "log_every_steps", "nonfinite", "resume",
                   "progress_bar", "distributed", "dataset.download",
                   "compilation_cache_dir")


def _exempt(key: str) -> bool:
    """``key`` (dotted) is, or lies under, an ``IDENTITY_EXEMPT`` entry."""
    return any(key == e or key.startswith(e + ".") for e in IDENTITY_EXEMPT)


def config_to_json(config: ml_collections.ConfigDict) -> str:
    return json.dumps(json.loads(config.to_json_best_effort()), indent=2, sort_keys=True)


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], tree


# Keys added after runs were recorded, with the value that behaves as their absence: a saved
# config without the key matches a current one at this value.
NEUTRAL_DEFAULTS = {"dataset.imbalance": 1.0}


def config_differences(saved: dict, current: dict) -> list[str]:
    """``key: saved -> current`` for every identity key that differs (a ``NEUTRAL_DEFAULTS``
    key absent on one side counts as its neutral value)."""
    saved_flat = {**NEUTRAL_DEFAULTS, **{k: v for k, v in _flatten(saved) if not _exempt(k)}}
    current_flat = {**NEUTRAL_DEFAULTS,
                    **{k: v for k, v in _flatten(current) if not _exempt(k)}}
    keys = sorted(set(saved_flat) | set(current_flat))
    return [f"{k}: {saved_flat.get(k, '<absent>')!r} -> {current_flat.get(k, '<absent>')!r}"
            for k in keys if saved_flat.get(k, "<absent>") != current_flat.get(k, "<absent>")]


def is_local(path) -> bool:
    """True for a plain filesystem path, False for a URI such as ``gs://bucket/run``."""
    return "://" not in os.fspath(path)


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees half of it: locally through a
    temporary file and a rename; on an object store the object appears whole when closed."""
    path = epath.Path(path)
    if not is_local(path):
        path.write_text(text)
        return
    tmp = path.parent / f"{path.name}.tmp"
    tmp.write_text(text)
    tmp.replace(path)


@contextlib.contextmanager
def local_staging(directory):
    """A local directory for writers that only take local paths; its files are copied into
    ``directory`` (created if needed) on exit. A local ``directory`` is used as it is."""
    directory = epath.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if is_local(directory):
        yield str(directory)
        return
    staging = tempfile.mkdtemp(prefix="workdir_staging_")
    try:
        yield staging
        copy_files(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def copy_files(local_dir: str, directory) -> None:
    """Copy every file of ``local_dir`` (not its subdirectories) into ``directory``."""
    for name in sorted(os.listdir(local_dir)):
        source = os.path.join(local_dir, name)
        if os.path.isfile(source):
            epath.Path(source).copy(epath.Path(directory) / name, overwrite=True)


def check_writable(workdir: str) -> None:
    """Create ``workdir`` if needed and make sure a file can be written in it; ``ValueError``
    with one line saying what to do otherwise (a path that is a file, a read-only place, a
    bucket without access)."""
    path = epath.Path(workdir)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--workdir={workdir} is a file, not a directory; pass the path of a "
                         "new or existing directory.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        if is_local(workdir):
            with tempfile.NamedTemporaryFile(dir=workdir, prefix=".write_check_"):
                pass
        else:
            probe = path / f".write_check_{uuid.uuid4().hex}"
            probe.write_text("")
            probe.unlink()
    except Exception as error:  # OSError locally; remote filesystems raise their own types
        reason = getattr(error, "strerror", None) or type(error).__name__
        where = getattr(error, "filename", None) or workdir
        raise ValueError(f"cannot write to --workdir={workdir} ({reason}: {where}); "
                         "pass a directory you can write to.") from error


def check_config(config: ml_collections.ConfigDict, workdir: str) -> dict | None:
    """The ``config.json`` saved in ``workdir`` (None if there is none); ``ValueError`` if it
    differs from ``config`` in an identity key, unless ``config.resume == "force"``.

    Nothing is written: ``write_config`` records the config once the run is known to work.
    """
    path = epath.Path(workdir) / "config.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    differences = config_differences(saved, json.loads(config_to_json(config)))
    if differences and config.get("resume", "auto") != "force":
        raise ValueError(
            f"{workdir} holds a run with a different config:\n  " + "\n  ".join(differences)
            + "\nUse a new --workdir, or pass --config.resume=force to resume it anyway.")
    return saved


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
    """Write ``config.json`` atomically (the workdir's identity)."""
    epath.Path(workdir).mkdir(parents=True, exist_ok=True)
    write_text_atomic(epath.Path(workdir) / "config.json", config_to_json(config))


def check_or_write_config(config: ml_collections.ConfigDict, workdir: str, *, write: bool = True) -> None:
    """``check_config``, then ``write_config`` if ``write``."""
    check_config(config, workdir)
    if write:
        write_config(config, workdir)
