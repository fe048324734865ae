"""The input-pipeline benchmark runs end to end in its smoke version (no timing asserted)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_quick_benchmark_reports_both_sizes():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.input_pipeline", "--quick", "--no_torch"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "reporting ours only" in proc.stderr
    report = json.loads(proc.stdout)
    for size in ("224", "64"):
        rates = report["images_per_s"][size]
        assert set(rates) == {"ours_threads"} and rates["ours_threads"]["median"] > 0
