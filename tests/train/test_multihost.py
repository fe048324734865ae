"""Multi-host: 2 processes on 127.0.0.1 (gloo CPU collectives, 2 devices each) take the same
first steps as 1 process with 4 devices. Each process feeds only its half of the global batch."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.cli import REPO, read_rows

RUN = ["--config=configs/simclr.py:scale=tiny", "--config.progress_bar=False",
       "--config.total_steps=3", "--config.eval.every_steps=1000",
       "--config.eval.final_linear_probe=False", "--config.eval.final_baselines=False",
       "--config.eval.plot_embedding=False"]


def _env(devices):
    return dict(os.environ, JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1",
                XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
    single = subprocess.run([sys.executable, "-m", "contrastive_jax.main", *RUN,
                             f"--workdir={tmp_path / 'single'}"],
                            cwd=REPO, env=_env(4), capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]

    port = _free_port()
    processes = [subprocess.Popen(
        [sys.executable, "-m", "contrastive_jax.main", *RUN, f"--workdir={tmp_path / 'multi'}",
         f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}"],
        cwd=REPO, env=_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    assert "over 4 device(s)" in outputs[0][0]

    expected = read_rows(tmp_path / "single" / "metrics.jsonl")
    actual = read_rows(tmp_path / "multi" / "metrics.jsonl")
    assert [r["step"] for r in actual] == [1, 2, 3]
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)
    assert os.path.isdir(tmp_path / "multi" / "checkpoints" / "3")
    # The streamed evaluation: each process reads its share of every eval batch, and the
    # features (all of them, on every process) give the kNN accuracy of the 1-process run.
    summaries = [json.loads((tmp_path / run / "summary.json").read_text())
                 for run in ("single", "multi")]
    assert summaries[1]["held_out_examples"] == summaries[0]["held_out_examples"] == 1000
    assert summaries[1]["results"]["learned"]["knn"] == pytest.approx(
        summaries[0]["results"]["learned"]["knn"], abs=2e-3)
