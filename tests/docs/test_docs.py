"""The tutorials in docs/ are run as a reader would follow them, so their examples never rot.

A page's fenced blocks run in order in a fresh project directory: ```` ```python file=PATH ````
writes PATH, a plain ```` ```python ```` block runs as a script, and a ```` ```bash ```` block runs
in bash. A block tagged with another word (```` ```bash multihost ````) runs only where a test
asks for that tag (the slow tier), and ```` ```python shown ```` is never run. ``configs/`` is
linked in, as it is in a clone, and the package comes from this checkout. To keep the suite
quick, the main command gets ``QUICK`` appended: no progress bar and no random-init / raw-pixel
baselines (the learned encoder's probe and kNN still run).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from tests.cli import REPO

DOCS = os.path.join(REPO, "docs")
QUICK = " --config.progress_bar=False --config.eval.final_baselines=False"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.M | re.S)


def blocks(page: str) -> list[tuple[str, dict, str]]:
    """``(language, attributes, body)`` of every fenced block of ``docs/<page>``."""
    with open(os.path.join(DOCS, page)) as f:
        text = f.read()
    found = []
    for info, body in FENCE.findall(text):
        language, *words = info.split()
        attributes = dict(w.partition("=")[::2] for w in words)
        found.append((language, attributes, body))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def follow(page: str, project, *, include: tuple[str, ...] = ()) -> str:
    """Run ``page``'s blocks in ``project`` and return what they printed; a block tagged with a
    word not in ``include`` is shown to the reader but skipped here."""
    os.symlink(os.path.join(REPO, "configs"), project / "configs")
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1", JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    printed = []
    for language, attributes, body in blocks(page):
        tags = [k for k in attributes if k != "file"]
        if any(tag not in include for tag in tags) or language not in ("python", "bash"):
            continue
        if "file" in attributes:
            path = project / attributes["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            continue
        if language == "bash":
            body = re.sub(r"(contrastive_jax\.main [^\n&]*?)(\s*&?)$", lambda m: m[1] + QUICK + m[2],
                          body.replace("12355", str(_free_port())), flags=re.M)
            command = ["bash", "-e", "-c", body]
        else:
            command = [sys.executable, "-c", body]
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, f"{page}: block failed:\n{body}\n{done.stderr[-3000:]}"
        printed.append(done.stdout)
    return "".join(printed)


def summary(workdir) -> dict:
    with open(workdir / "summary.json") as f:
        return json.load(f)


def test_adding_a_dataset(tmp_path):
    follow("adding_a_dataset.md", tmp_path)
    result = summary(tmp_path / "runs" / "patches")
    assert result["dataset"] == "photo_patches"
    assert 0.0 <= result["results"]["learned"]["linear_probe"] <= 1.0
    assert (tmp_path / "runs" / "patches" / "checkpoints").is_dir()


def test_running_on_a_pod(tmp_path):
    printed = follow("running_on_a_pod.md", tmp_path)
    assert "batch 32 over 8 device(s) (mesh {'data': 8, 'fsdp': 1})" in printed
    assert "linear_probe" in summary(tmp_path / "runs" / "pod8")["results"]["learned"]


@pytest.mark.slow
def test_running_on_a_pod_fsdp_and_multihost(tmp_path):
    printed = follow("running_on_a_pod.md", tmp_path, include=("fsdp", "multihost"))
    assert "batch 32 over 8 device(s) (mesh {'data': 4, 'fsdp': 2})" in printed
    assert "batch 32 over 4 device(s)" in printed
    for name in ("pod4x2", "hosts"):
        assert (tmp_path / "runs" / name / "summary.json").exists(), name
