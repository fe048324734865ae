"""Peak process memory of ``main`` with the naive vs the blockwise SimCLR loss (issue 16).

    python -m benchmarks.loss_memory                 # batch 16,384, block 1,024 (~10 min here)
    python -m benchmarks.loss_memory --quick         # smoke version: batch 512, block 128

Runs ``python -m contrastive_jax.main --config=benchmarks/loss_memory_config.py`` twice, each
in its own process on one CPU device: ``--config.method.loss_block_size=0`` (the naive NT-Xent:
the [2B, 2B] logits, 4 GiB of float32 at B = 16,384, and XLA keeps several such arrays for the
backward pass) and ``=<block>`` (keys streamed in blocks, ``losses.softmax_statistics``).
Everything else is the same: tiny convnet, 32-d projection, 2 training steps, the final kNN
evaluation. The peak resident memory of each run is its ``ru_maxrss`` from ``os.wait4``; a run
whose resident memory passes ``--cap_gib`` is stopped (the machine must keep working) and
reported as such. Prints one JSON object: per run the peak RSS (GiB), wall seconds, the logged
losses (the two runs compute the same loss), and the naive / blockwise peak ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = "benchmarks/loss_memory_config.py"


def _rss_gib(pid: int) -> float:
    """Current resident memory of ``pid`` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def run_main(workdir: str, batch_size: int, block_size: int, cap_gib: float) -> dict:
    """One ``main`` run in a fresh process; its peak RSS, time, losses and exit status."""
    command = [sys.executable, "-m", "contrastive_jax.main", f"--config={CONFIG}",
               f"--workdir={workdir}", f"--config.batch_size={batch_size}",
               f"--config.method.loss_block_size={block_size}"]
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # one device: the whole batch's loss in one process
    log = open(os.path.join(workdir, "main.log"), "w")
    started = time.time()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    capped = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if _rss_gib(proc.pid) > cap_gib:
            proc.kill()
            capped = True
        time.sleep(0.1)
    seconds = time.time() - started
    log.close()
    losses = []
    metrics = os.path.join(workdir, "metrics.jsonl")
    if os.path.exists(metrics):
        with open(metrics) as f:
            losses = [row["loss"] for row in map(json.loads, f) if "loss" in row]
    result = {"loss_block_size": block_size, "peak_rss_gib": round(usage.ru_maxrss / 2**20, 3),
              "seconds": round(seconds, 1), "losses": losses,
              "exit_status": os.waitstatus_to_exitcode(status)}
    if capped:
        result["stopped_at_cap_gib"] = cap_gib
    elif result["exit_status"]:
        with open(os.path.join(workdir, "main.log")) as f:
            result["log_tail"] = f.read()[-2000:]
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=16384)
    parser.add_argument("--block_size", type=int, default=1024)
    parser.add_argument("--cap_gib", type=float, default=18.0,
                        help="stop a run whose resident memory passes this (default 18)")
    parser.add_argument("--quick", action="store_true", help="batch 512, block 128")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.block_size = 512, 128
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, block in (("blockwise", args.block_size), ("naive", 0)):
            workdir = os.path.join(tmp, name)
            os.makedirs(workdir)
            runs[name] = run_main(workdir, args.batch_size, block, args.cap_gib)
    report = {
        "batch_size": args.batch_size, "block_size": args.block_size,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB",
        "load_average_1min_end": round(os.getloadavg()[0], 2),
        "naive": runs["naive"], "blockwise": runs["blockwise"],
        "peak_rss_ratio_naive_over_blockwise": round(
            runs["naive"]["peak_rss_gib"] / runs["blockwise"]["peak_rss_gib"], 2),
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
