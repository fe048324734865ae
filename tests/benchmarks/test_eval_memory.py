"""The evaluation-memory benchmark runs end to end at a small N (no memory figure is asserted:
it depends on the allocator and the load; the numbers are in benchmarks/README.md)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow  # three fresh interpreters importing jax: ~1 min on a shared 2-core CPU
def test_small_benchmark_reports_both_sizes_and_their_growth():
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("XLA_FLAGS", None)  # one device, as the benchmark is meant to run
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.eval_memory", "--sizes=100,300", "--image_size=32"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    small, large = report["runs"]
    assert (small["num_train"], small["num_test"]) == (100, 20)
    assert (large["num_train"], large["num_test"]) == (300, 60)
    assert large["images_would_take_mib"] == pytest.approx(360 * 32 * 32 * 3 / 2**20, abs=0.1)
    assert large["features_take_mib"] == pytest.approx(
        360 * large["feature_dim"] * 4 / 2**20, abs=0.1)
    assert 0.0 <= large["knn"] <= 1.0 and large["peak_rss_mib"] >= large["rss_before_eval_mib"]
    assert report["growth_first_to_last"]["images_mib"] == pytest.approx(
        large["images_would_take_mib"] - small["images_would_take_mib"], abs=0.2)
