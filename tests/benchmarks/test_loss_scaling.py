"""The loss-scaling benchmark runs end to end in its smoke version (no timing is asserted)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quick_benchmark_reports_every_case_and_a_plot(tmp_path):
    png = tmp_path / "scaling.png"
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.loss_scaling", "--quick", "--no_torch",
         "--plot", str(png)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    cases = {(c["impl"], c["B"]): c for c in report["cases"]}
    assert all("error" not in c for c in report["cases"]), report["cases"]
    for b in (256, 512):
        assert {("rate", b), ("jax_blockwise", b), ("jax_naive", b)} <= set(cases)
        assert cases[("rate", b)]["useful_fraction_of_matmul"] > 0
    assert ("jax_blockwise", 1024) in cases and ("jax_naive", 1024) not in cases
    assert [s["B"] for s in report["skipped"]] == [1024]
    # XLA's temporaries: linear in B for the blockwise form, at least one [B, B] for the naive.
    temp = {key: case.get("xla_temp_mib") for key, case in cases.items()}
    assert temp[("jax_naive", 512)] >= 512 * 512 * 4 / 2**20
    assert temp[("jax_naive", 512)] > temp[("jax_blockwise", 512)]
    assert temp[("jax_blockwise", 1024)] < 2.2 * temp[("jax_blockwise", 512)]
    for (impl, _), case in cases.items():
        if impl != "rate":
            assert case["time_s"] > 0 and case["peak_rss_mib"] > case["import_rss_mib"] > 0
    accuracy = report["accuracy"]
    assert accuracy["scale14.3_blockwise_grad_rel_err"] < 1e-5
    assert report["targets"]["grad_error_blockwise_over_naive_scale100"]["met"]
    assert png.stat().st_size > 10_000
