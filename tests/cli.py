"""Run the main command in a subprocess, as a user would (8 simulated CPU devices)."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = "configs/simclr.py:scale=tiny"
ENV = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", PYTHONUNBUFFERED="1")


def main_command(workdir, *overrides, config=TINY):
    return [sys.executable, "-m", "contrastive_jax.main", f"--config={config}",
            f"--workdir={workdir}", "--config.progress_bar=False", *overrides]


def run_main(workdir, *overrides, config=TINY, timeout=300):
    return subprocess.run(main_command(workdir, *overrides, config=config), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=ENV)


def start_main(workdir, *overrides, config=TINY):
    return subprocess.Popen(main_command(workdir, *overrides, config=config), cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
