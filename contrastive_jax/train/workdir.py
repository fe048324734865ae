"""The workdir's config record: compared on every run, written once the run is known to work.

Re-running a command on a workdir resumes it, so the workdir must belong to the same
experiment. Keys that only control how long or how visibly a run goes may change between runs
(``IDENTITY_EXEMPT``); anything else refuses to resume unless ``--config.resume=force``. ``config.json`` is written
only after every check has passed and the state was built or restored (``train.loop``), so a
command that is rejected leaves no identity behind to refuse the corrected command.
"""

from __future__ import annotations

import json
import os
import tempfile

import ml_collections

IDENTITY_EXEMPT = ("total_steps", "eval", "checkpoint", "log_every_steps", "nonfinite", "resume",
                   "progress_bar", "distributed", "dataset.download")


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


def config_differences(saved: dict, current: dict) -> list[str]:
    """``key: saved -> current`` for every identity key that differs."""
    saved_flat = {k: v for k, v in _flatten(saved) if not _exempt(k)}
    current_flat = {k: v for k, v in _flatten(current) if not _exempt(k)}
    keys = sorted(set(saved_flat) | set(current_flat))
    return [f"{k}: {saved_flat.get(k, '<absent>')!r} -> {current_flat.get(k, '<absent>')!r}"
            for k in keys if saved_flat.get(k, "<absent>") != current_flat.get(k, "<absent>")]


def check_writable(workdir: str) -> None:
    """Create ``workdir`` if needed and make sure a file can be written in it; ``ValueError``
    with one line saying what to do otherwise (a path that is a file, a read-only place)."""
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise ValueError(f"--workdir={workdir} is a file, not a directory; pass the path of a "
                         "new or existing directory.")
    try:
        os.makedirs(workdir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=workdir, prefix=".write_check_"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(f"cannot write to --workdir={workdir} ({reason}: {error.filename}); "
                         "pass a directory you can write to.") from error


def check_config(config: ml_collections.ConfigDict, workdir: str) -> dict | None:
    """The ``config.json`` saved in ``workdir`` (None if there is none); ``ValueError`` if it
    differs from ``config`` in an identity key, unless ``config.resume == "force"``.

    Nothing is written: ``write_config`` records the config once the run is known to work.
    """
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        saved = json.load(f)
    differences = config_differences(saved, json.loads(config_to_json(config)))
    if differences and config.get("resume", "auto") != "force":
        raise ValueError(
            f"{workdir} holds a run with a different config:\n  " + "\n  ".join(differences)
            + "\nUse a new --workdir, or pass --config.resume=force to resume it anyway.")
    return saved


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
    """Write ``config.json`` atomically (the workdir's identity)."""
    path = os.path.join(workdir, "config.json")
    os.makedirs(workdir, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(config_to_json(config))
    os.replace(tmp, path)


def check_or_write_config(config: ml_collections.ConfigDict, workdir: str, *, write: bool = True) -> None:
    """``check_config``, then ``write_config`` if ``write``."""
    check_config(config, workdir)
    if write:
        write_config(config, workdir)
