"""The loss-memory benchmark runs end to end in its smoke version (no memory is asserted: at
batch 512 the process's own footprint dominates, see benchmarks/README.md for the real run)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_quick_benchmark_runs_both_losses_to_the_same_values():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "benchmarks.loss_memory", "--quick"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    naive, blockwise = report["naive"], report["blockwise"]
    for run in (naive, blockwise):
        assert run["exit_status"] == 0, run.get("log_tail")
        assert run["peak_rss_gib"] > 0.1 and len(run["losses"]) == 2
    # The same first-step loss: only how it is computed differs.
    assert abs(naive["losses"][0] - blockwise["losses"][0]) < 1e-4 * abs(naive["losses"][0])
