"""Training-loop throughput (steps/s) of two checkouts of the package, run alternately.

    python -m benchmarks.loop_speed --baseline_root=/tmp/base [--candidate_root=.] \
        [--steps=300 --repeats=3]

Runs ``contrastive_jax.main`` with ``configs/simclr.py:scale=tiny`` (8 simulated CPU devices,
the tests' setting) for ``--steps`` steps, evaluation and checkpoints off until the end, once
per repeat from ``--baseline_root`` and once from ``--candidate_root`` (default: this
checkout), alternating so machine load
drifts hit both alike. Reports the mean ``steps_per_second`` of the logged windows after the
first (which holds compilation), per run, and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_run(root: str, steps: int, log_every: int) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "contrastive_jax.main",
                   "--config=configs/simclr.py:scale=tiny", f"--workdir={workdir}",
                   "--config.progress_bar=False", f"--config.total_steps={steps}",
                   f"--config.log_every_steps={log_every}",
                   f"--config.checkpoint.every_steps={steps}",
                   f"--config.eval.every_steps={steps}", "--config.eval.final_linear_probe=False",
                   "--config.eval.final_baselines=False", "--config.eval.plot_embedding=False"]
        env = dict(os.environ, PYTHONPATH=root,
                   XLA_FLAGS="--xla_force_host_platform_device_count=8")
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"{root}: {result.stderr[-2000:]}")
        with open(os.path.join(workdir, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    # The first window holds compilation, the last one the final kNN evaluation.
    windows = [r["steps_per_second"] for r in rows[1:-1]]
    return statistics.mean(windows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline_root", required=True)
    parser.add_argument("--candidate_root", default=HERE)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--log_every", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = {"baseline": [], "candidate": []}
    for _ in range(args.repeats):
        runs["baseline"].append(one_run(args.baseline_root, args.steps, args.log_every))
        runs["candidate"].append(one_run(args.candidate_root, args.steps, args.log_every))
    print(json.dumps({"steps": args.steps, "log_every": args.log_every, "steps_per_second": runs,
                      "mean": {k: statistics.mean(v) for k, v in runs.items()}}, indent=1))


if __name__ == "__main__":
    main()
