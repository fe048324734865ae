"""The workdir's config record: written on the first run, compared on every later one.

Re-running a command on a workdir resumes it, so the workdir must belong to the same
experiment. Keys that only control how long or how visibly a run goes may change between runs
(``IDENTITY_EXEMPT``); anything else refuses to resume unless ``--config.resume=force``.
"""

from __future__ import annotations

import json
import os

import ml_collections

IDENTITY_EXEMPT = ("total_steps", "eval", "checkpoint", "log_every_steps", "nonfinite", "resume",
                   "progress_bar", "distributed")


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
    saved_flat = {k: v for k, v in _flatten(saved) if k.split(".")[0] not in IDENTITY_EXEMPT}
    current_flat = {k: v for k, v in _flatten(current) if k.split(".")[0] not in IDENTITY_EXEMPT}
    keys = sorted(set(saved_flat) | set(current_flat))
    return [f"{k}: {saved_flat.get(k, '<absent>')!r} -> {current_flat.get(k, '<absent>')!r}"
            for k in keys if saved_flat.get(k, "<absent>") != current_flat.get(k, "<absent>")]


def check_or_write_config(config: ml_collections.ConfigDict, workdir: str, *, write: bool = True) -> None:
    """Write ``config.json`` into a new workdir; in an existing one, refuse a different config."""
    path = os.path.join(workdir, "config.json")
    current_text = config_to_json(config)
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        differences = config_differences(saved, json.loads(current_text))
        if differences and config.get("resume", "auto") != "force":
            raise ValueError(
                f"{workdir} holds a run with a different config:\n  " + "\n  ".join(differences)
                + "\nUse a new --workdir, or pass --config.resume=force to resume it anyway.")
    if write:
        os.makedirs(workdir, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(current_text)
        os.replace(tmp, path)
