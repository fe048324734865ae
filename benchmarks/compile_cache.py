"""Start-up time of ``main`` with an empty and with a filled persistent compilation cache.

    python -m benchmarks.compile_cache [--config=configs/simclr.py:scale=tiny] [--repeats=2]

Each repeat makes a new empty cache directory and runs the same command twice, each time in a
fresh workdir: the first run compiles and fills the cache, the second loads from it. Measured
per run: seconds from launching the process to the first row of ``metrics.jsonl`` (the first
logged training step; ``log_every_steps=1``) and to the process's exit; plus, once, the same
command with the cache off (``--config.compilation_cache_dir=``). Prints one JSON object with
``first_step_speedup`` = median(first run) / median(second run) of the time to the first step,
the seconds a fresh process spends in ``import jax`` (median of 3; part of every start, cache or
not) with the installed ml_dtypes version, and the machine's load average before and after (the
CPU may be shared: compare within a run).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed_run(config: str, cache_dir: str, extra: list[str], timeout: float) -> dict:
    """Seconds to the first logged step and to exit of one ``main`` run in a fresh workdir."""
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "contrastive_jax.main", f"--config={config}",
                   f"--workdir={workdir}", "--config.progress_bar=False",
                   "--config.log_every_steps=1", f"--config.compilation_cache_dir={cache_dir}",
                   *extra]
        env = dict(os.environ, PYTHONPATH=ROOT)
        env.pop("CONTRASTIVE_JAX_COMPILATION_CACHE", None)
        metrics = os.path.join(workdir, "metrics.jsonl")
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        first_step = None
        while process.poll() is None:
            if first_step is None and os.path.exists(metrics) and os.path.getsize(metrics) > 0:
                first_step = time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                process.kill()
                raise TimeoutError(f"{command} ran over {timeout} s")
            time.sleep(0.02)
        total = time.perf_counter() - start
        output = process.stdout.read()
        if process.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
        if first_step is None:  # finished between two polls
            first_step = total
    return {"first_step_s": round(first_step, 2), "total_s": round(total, 2)}


IMPORT_JAX = ("import time; start = time.perf_counter(); import jax; "
              "print(time.perf_counter() - start)")


def jax_import_seconds(repeats: int = 3) -> float:
    """Median seconds of ``import jax`` in a fresh interpreter (ml_dtypes's extension included)."""
    times = [float(subprocess.run([sys.executable, "-c", IMPORT_JAX], capture_output=True,
                                  text=True, check=True).stdout) for _ in range(repeats)]
    return round(statistics.median(times), 3)


def cache_size(path: str) -> tuple[int, int]:
    files = [os.path.join(path, f) for f in os.listdir(path)] if os.path.isdir(path) else []
    return len(files), sum(os.path.getsize(f) for f in files)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/simclr.py:scale=tiny")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--override", action="append", default=[],
                        help="extra --config.* flags for every run")
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache_dir:
            first = timed_run(args.config, cache_dir, args.override, args.timeout)
            entries, size = cache_size(cache_dir)
            second = timed_run(args.config, cache_dir, args.override, args.timeout)
            runs.append({"empty_cache": first, "filled_cache": second, "cache_entries": entries,
                         "cache_bytes": size})
    off = timed_run(args.config, "", args.override, args.timeout)
    first = statistics.median(r["empty_cache"]["first_step_s"] for r in runs)
    second = statistics.median(r["filled_cache"]["first_step_s"] for r in runs)
    print(json.dumps({
        "config": args.config, "overrides": args.override, "runs": runs, "cache_off": off,
        "median_first_step_s": {"empty_cache": first, "filled_cache": second,
                                "cache_off": off["first_step_s"]},
        "first_step_speedup": round(first / second, 2),
        "jax_import_s": jax_import_seconds(),
        "ml_dtypes_version": importlib.metadata.version("ml_dtypes"),
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
    }, indent=1))


if __name__ == "__main__":
    main()
