"""The tutorials in docs/ are run as a reader would follow them, so their examples never rot.

A page's fenced blocks run in order in a project directory: ```` ```python file=PATH ````
writes PATH (with ``after="TEXT"``: inserts the block after the first line that starts with
TEXT, as the page tells the reader to), a plain ```` ```python ```` block runs as a script, and a
```` ```bash ```` block runs in bash. A block tagged with another word (```` ```bash multihost ````) runs only where a test
asks for that tag (the slow tier), and ```` ```python shown ```` is never run. ``configs/`` is
linked in, as it is in a clone, and the package comes from this checkout. To keep the suite
quick, the main command gets ``QUICK`` appended: no progress bar and no random-init / raw-pixel
baselines (the learned encoder's probe and kNN still run).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
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
        language, *words = shlex.split(info)
        attributes = dict(w.partition("=")[::2] for w in words)
        found.append((language, attributes, body))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def insert_after(path, anchor: str, lines: str) -> None:
    """Insert ``lines`` after the first line of ``path`` that starts with ``anchor``."""
    text = path.read_text().splitlines(keepends=True)
    index = next((i for i, line in enumerate(text) if line.strip().startswith(anchor)), None)
    assert index is not None, f"{path}: no line starts with {anchor!r}"
    path.write_text("".join(text[:index + 1]) + lines + "".join(text[index + 1:]))


def follow(page: str, project, *, include: tuple[str, ...] = (), package_root: str = REPO) -> str:
    """Run ``page``'s blocks in ``project`` with the package of ``package_root`` and return
    what they printed; a block tagged with a word not in ``include`` is skipped here."""
    if not (project / "configs").exists():
        os.symlink(os.path.join(package_root, "configs"), project / "configs")
    env = dict(os.environ, PYTHONPATH=package_root, PYTHONUNBUFFERED="1", JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    printed = []
    for language, attributes, body in blocks(page):
        tags = [k for k in attributes if k not in ("file", "after")]
        if any(tag not in include for tag in tags) or language not in ("python", "bash"):
            continue
        if "file" in attributes:
            path = project / attributes["file"]
            if "after" in attributes:
                insert_after(path, attributes["after"], body)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            continue
        if language == "bash":
            body = re.sub(r"(contrastive_jax\.main [^\n&|]*?)(\s*(?:&|\|\|[^\n]*)?)$",
                          lambda m: m[1] + QUICK + m[2],
                          body.replace("12355", str(_free_port())), flags=re.M)
            command = ["bash", "-e", "-c", body]
        else:
            command = [sys.executable, "-c", body]
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, f"{page}: block failed:\n{body}\n{done.stderr[-3000:]}"
        printed.append(done.stdout + done.stderr)
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


def copy_of_the_repository(target) -> None:
    """The files git tracks (a clone's content), without caches or runs."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split("\0")
    for name in filter(None, listed):
        if os.path.isfile(os.path.join(REPO, name)):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), target / name)


@pytest.mark.slow
def test_adding_a_method_is_picked_up_by_the_existing_tests(tmp_path):
    copy_of_the_repository(tmp_path)
    printed = follow("adding_a_method.md", tmp_path, package_root=str(tmp_path))
    assert summary(tmp_path / "runs" / "margin_tiny")["method"] == "margin_simclr"
    assert "unknown config key 'method.margn'. Did you mean 'method.margin'?" in printed

    # The suite's own tests, unedited, now cover the new loss, method and config.
    selected = ("margin or layering or all_is_objectives or names_the_readme")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q", "-rA",
         "tests/losses/test_margin.py", "tests/losses/test_api.py",
         "tests/losses/test_doctests.py", "tests/test_configs.py", "tests/methods/test_options.py",
         "tests/methods/test_every_config.py", "tests/test_layering.py", "-k", selected],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(tmp_path)), capture_output=True,
        text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED ")]
    for test_id in ("test_margin.py::test_matches_reference_dense_and_blockwise",
                    "test_documented_with_args_and_returns[margin_nt_xent]",
                    "test_module_doctests_pass[margin]",
                    "test_config_validates[scale=tiny-margin_simclr]",
                    "test_sets_only_declared_options_and_a_near_miss_is_named[margin_simclr]",
                    "test_tiny_config_trains_and_checkpoints[margin_simclr]"):
        assert any(test_id.split("test_", 1)[1] in line for line in passed), (test_id, passed)


@pytest.mark.slow
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
