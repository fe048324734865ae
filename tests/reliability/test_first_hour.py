"""What a new user tries first: a rejected command leaves the workdir usable, and every
mistake (a missing config file, a typo in an override, a workdir that cannot be written, the
command run from another directory) is one ``error:`` line with exit code 2, no traceback."""

import os
import subprocess

import pytest

from tests.cli import ENV, REPO, TINY, main_command, run_main

FAST = ("--config.eval.final_linear_probe=False", "--config.eval.final_baselines=False",
        "--config.eval.plot_embedding=False", "--config.total_steps=2")


def _snapshot(directory):
    """``{relative path: (bytes, mtime_ns)}`` of every file under ``directory``."""
    out = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def _one_error_line(result, starts):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: " + starts), result.stderr[-3000:]
    assert "\\" not in lines[0]  # no escaped quotes or newlines
    return lines[0]


def test_a_rejected_config_leaves_the_workdir_usable(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "notes.txt").write_text("the user's own file\n")
    before = _snapshot(workdir)
    rejected = run_main(workdir, "--config.batch_size=36", timeout=120)  # 8 devices
    _one_error_line(rejected, "batch_size=36 is not divisible by the 8 devices")
    assert _snapshot(workdir) == before  # no config.json left behind, nothing else touched

    corrected = run_main(workdir, "--config.batch_size=32", *FAST)
    assert corrected.returncode == 0, corrected.stderr[-3000:]
    assert "different config" not in corrected.stderr
    assert (workdir / "config.json").exists() and (workdir / "summary.json").exists()
    assert (workdir / "notes.txt").read_text() == "the user's own file\n"


def test_a_config_failing_while_building_the_parts_writes_no_config(tmp_path, capfd):
    """In process: the data set is not prepared (FileNotFoundError while building the parts)."""
    from configs import simclr
    from contrastive_jax.main import run

    config = simclr.get_config("scale=tiny")
    config.dataset.name = "tfds:mnist"
    config.dataset.data_dir = str(tmp_path / "no_data")
    assert run(config, str(tmp_path / "run")) == 2
    assert not (tmp_path / "run" / "config.json").exists()
    assert "--config.dataset.download=True" in capfd.readouterr().err


@pytest.mark.parametrize("override,message", [
    ("--config.method.temprature=0.1",
     "unknown config key 'method.temprature'. Did you mean 'method.temperature'?"),
    ("--config.methd.temperature=0.1",
     "unknown config key 'methd.temperature'. Did you mean 'method.temperature'?"),
    ("--config.batch_size.x=1",
     "unknown config key 'batch_size.x': config.batch_size is a int, not a group of keys."),
])
def test_a_typo_in_an_override_is_one_clean_line(tmp_path, override, message):
    result = run_main(tmp_path / "run", override, timeout=120)
    assert _one_error_line(result, "unknown config key") == f"error: {message}"


def test_a_missing_config_file(tmp_path):
    result = run_main(tmp_path / "run", config="configs/nonexistent.py", timeout=120)
    line = _one_error_line(result, "config file configs/nonexistent.py not found")
    assert "--config=configs/simclr.py" in line


def test_the_command_works_from_outside_the_repository(tmp_path):
    """Only the package is importable (not the repository root), as after ``pip install``; the
    config file is given by its absolute path. It loads (``configs.common`` is found), so the
    run gets as far as the device check."""
    site = tmp_path / "site"
    site.mkdir()
    os.symlink(os.path.join(REPO, "contrastive_jax"), site / "contrastive_jax")
    env = dict(ENV, PYTHONPATH=str(site))
    command = main_command(tmp_path / "run", "--config.batch_size=36",
                           config=os.path.join(REPO, TINY))
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    _one_error_line(result, "batch_size=36 is not divisible")


def test_a_workdir_that_is_a_file(tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("keep me\n")
    line = _one_error_line(run_main(path, timeout=120), f"--workdir={path} is a file")
    assert "directory" in line
    _one_error_line(run_main(path / "run", timeout=120), f"cannot write to --workdir={path}/run")
    assert path.read_text() == "keep me\n"


def test_a_workdir_that_cannot_be_written(tmp_path):
    """Root may write anywhere chmod allows, so use sysfs, which refuses new files to root too."""
    readonly = "/sys/kernel"
    try:
        with open(os.path.join(readonly, ".probe"), "w"):
            pass
        pytest.skip(f"{readonly} is writable here")
    except OSError:
        pass
    line = _one_error_line(run_main(readonly, timeout=120), f"cannot write to --workdir={readonly}")
    assert "pass a directory you can write to" in line
    _one_error_line(run_main(readonly + "/run", timeout=120), "cannot write to --workdir=")


def test_a_workdir_that_cannot_be_written_in_process(tmp_path, monkeypatch, capfd):
    """The same check without relying on sysfs: a directory whose file creation fails."""
    import tempfile

    from configs import simclr
    from contrastive_jax.main import run

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "run" / ".write_check_x"))

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    assert run(simclr.get_config("scale=tiny"), str(tmp_path / "run")) == 2
    assert not (tmp_path / "run" / "config.json").exists()
    assert capfd.readouterr().err.strip() == (
        f"error: cannot write to --workdir={tmp_path / 'run'} (Permission denied: "
        f"{tmp_path / 'run' / '.write_check_x'}); pass a directory you can write to.")
