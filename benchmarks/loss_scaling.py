"""Time and memory of the CLIP loss (forward + backward) vs batch size: blockwise JAX, naive JAX
and a PyTorch version written like open_clip's ``ClipLoss``.

    python -m benchmarks.loss_scaling            # full run (~10-15 min on a 2-core CPU)
    python -m benchmarks.loss_scaling --quick    # smoke version (~1 min; --no_torch: ~20 s)

float32, D = 256, one fresh subprocess per (implementation, B) so every peak is that case's own:

* ``peak_rss_mib``: the subprocess's peak resident memory (``ru_maxrss``): imports, inputs,
  compilation and the steps; ``import_rss_mib``: right after importing jax (or torch).
* ``step_mib``: the peak resident memory of one forward + backward step above the resident memory
  just before it (the peak counter is reset with ``/proc/self/clear_refs``), i.e. the working
  memory of the loss itself; ``xla_temp_mib``: XLA's own count of the temporaries (JAX only).
  Workers run with a fixed glibc mmap threshold of 1 MiB so freed buffers leave the RSS.
* ``time_s``: the fastest of the timed steps, after one warm-up step (compilation excluded and
  reported as ``compile_s``); ``useful_gflops`` counts 6 B^2 D FLOPs (the forward matmul and the
  two gradient matmuls; the blockwise form also recomputes the logits, which is not counted).
* PyTorch runs with ``torch.set_num_threads(cores)``, once with OpenMP's default (spinning)
  and once with ``OMP_WAIT_POLICY=PASSIVE`` threads; the faster counts as ``torch`` (on a
  loaded CPU spinning threads were up to ~8x slower at small B).
* ``rate`` rows: the float32 matmul rate (the faster of a jitted [B, D] x [D, B] ``x @ y.T``
  and B / block_size matmuls of the tile shape [B, D] x [D, block_size]) and the blockwise
  loss's useful rate, alternated in one subprocess so that both see the same background load.
* accuracy: relative Frobenius error of the gradients against a float64 evaluation of the naive
  loss on the same inputs, for the float32 naive and blockwise forms.

The naive forms need about 4 B^2 floats at their peak (logits, probabilities and their
gradients); at B = 65,536 that is ~64 GiB, so they are skipped there and the estimate is
reported. Prints one JSON object; writes ``benchmarks/loss_scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

DIM = 256
LOGIT_SCALE = 14.3  # CLIP's initial exp(log(1 / 0.07))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG = os.path.join(ROOT, "benchmarks", "loss_scaling.png")


# --- measurements inside a worker subprocess ----------------------------------------------


def _proc_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def _timed_steps(step, repeats, warmup):
    """``warmup`` + ``repeats`` calls of ``step`` (which blocks until done).

    Returns the fastest timed call and the largest resident-memory rise within any call,
    warm-ups included: XLA keeps an executable's buffers after its first run, so a JAX step's
    allocations show up in its first call only.
    """
    times, step_mib = [], 0.0
    for i in range(warmup + repeats):
        before = _proc_mib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        start = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
        step_mib = max(step_mib, _proc_mib("VmHWM") - before)
    return min(times), step_mib


def _jax_case(impl, batch, block_size, repeats, warmup):
    import jax
    import jax.numpy as jnp
    import numpy as np

    import_mib = _proc_mib("VmRSS")
    from contrastive_jax import losses

    x = jax.random.normal(jax.random.key(0), (batch, DIM), jnp.float32)
    y = jax.random.normal(jax.random.key(1), (batch, DIM), jnp.float32)
    result = {"import_rss_mib": import_mib}
    kw = {"block_size": block_size} if impl == "jax_blockwise" else {}
    loss = lambda a, b: losses.clip(a, b, logit_scale=np.float32(LOGIT_SCALE), **kw)
    fn = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    start = time.perf_counter()
    compiled = fn.lower(x, y).compile()
    result["compile_s"] = time.perf_counter() - start
    result["xla_temp_mib"] = compiled.memory_analysis().temp_size_in_bytes / 2**20
    result["time_s"], result["step_mib"] = _timed_steps(
        lambda: jax.block_until_ready(compiled(x, y)), repeats, warmup)
    return result


def _rate_case(batch, block_size, rounds):
    """float32 matmul rates and the blockwise loss's useful rate, interleaved in one process.

    Alternating the three (fastest of ``rounds`` each) exposes them to the same background load:
    a [B, D] x [D, B] ``x @ y.T``, and B / block_size matmuls of the tile shape
    [B, D] x [D, block_size]; the reference rate is the faster of the two.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from contrastive_jax import losses

    x = jax.random.normal(jax.random.key(0), (batch, DIM), jnp.float32)
    y = jax.random.normal(jax.random.key(1), (batch, DIM), jnp.float32)
    full = jax.jit(lambda a, b: a @ b.T)
    tile = jax.jit(lambda a, b: a @ b.T)
    loss = jax.jit(jax.value_and_grad(lambda a, b: losses.clip(
        a, b, logit_scale=np.float32(LOGIT_SCALE), block_size=block_size), argnums=(0, 1)))
    key_tiles = [y[i:i + block_size] for i in range(0, batch, block_size)]
    runs = {"full": lambda: full(x, y).block_until_ready(),
            "tile": lambda: [tile(x, kb) for kb in key_tiles][-1].block_until_ready(),
            "loss": lambda: jax.block_until_ready(loss(x, y))}
    best = {}
    for _ in range(rounds + 1):  # the first round compiles and warms up
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best.setdefault(name, []).append(time.perf_counter() - start)
    t = {name: min(times[1:]) for name, times in best.items()}
    flops = 2 * batch * batch * DIM
    rates = {"matmul_full_gflops": flops / t["full"] / 1e9,
             "matmul_tile_gflops": flops / t["tile"] / 1e9,
             "blockwise_useful_gflops": 3 * flops / t["loss"] / 1e9,
             "blockwise_time_s": t["loss"]}
    rates["matmul_gflops"] = max(rates["matmul_full_gflops"], rates["matmul_tile_gflops"])
    rates["useful_fraction_of_matmul"] = rates["blockwise_useful_gflops"] / rates["matmul_gflops"]
    return rates


def _torch_case(batch, repeats, warmup):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(os.cpu_count())
    import_mib = _proc_mib("VmRSS")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, DIM, generator=gen, requires_grad=True)
    y = torch.randn(batch, DIM, generator=gen, requires_grad=True)
    labels = torch.arange(batch)

    def step():  # as open_clip's ClipLoss: logits both ways, cross-entropy, averaged
        image, text = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
        logits_per_image = LOGIT_SCALE * image @ text.T
        logits_per_text = LOGIT_SCALE * text @ image.T
        loss = (F.cross_entropy(logits_per_image, labels)
                + F.cross_entropy(logits_per_text, labels)) / 2
        torch.autograd.grad(loss, (x, y))

    result = {"import_rss_mib": import_mib, "torch_threads": torch.get_num_threads()}
    result["time_s"], result["step_mib"] = _timed_steps(step, repeats, warmup)
    return result


def _accuracy_case(batch, block_size):
    """Relative gradient errors of the float32 forms against float64, on the same inputs."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np

    from contrastive_jax import losses

    out = {}
    # (scale, correlation of the pairs): CLIP at initialization (independent pairs), and a
    # trained-like state at the maximal scale with the loss still O(1) (not rounding noise).
    for scale, corr in ((LOGIT_SCALE, 0.0), (100.0, 0.2)):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, DIM)).astype(np.float32)
        y = (corr * x + rng.standard_normal((batch, DIM))).astype(np.float32)

        def grads(dtype, **kw):
            loss = lambda a, b: losses.clip(a, b, logit_scale=dtype(scale), **kw)
            fn = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
            value, (gx, gy) = fn(jnp.asarray(x, dtype), jnp.asarray(y, dtype))
            return float(value), np.concatenate([np.asarray(gx, np.float64),
                                                 np.asarray(gy, np.float64)])

        value64, g64 = grads(np.float64)
        for name, kw in (("naive", {}), ("blockwise", {"block_size": block_size})):
            value, g = grads(np.float32, **kw)
            out[f"scale{scale:g}_loss64"] = value64
            out[f"scale{scale:g}_{name}_grad_rel_err"] = float(
                np.linalg.norm(g - g64) / np.linalg.norm(g64))
            out[f"scale{scale:g}_{name}_value_rel_err"] = abs(value - value64) / abs(value64)
    return out


def _worker(spec):
    if spec["impl"] == "torch":
        result = _torch_case(spec["B"], spec["repeats"], spec["warmup"])
    elif spec["impl"] == "accuracy":
        result = _accuracy_case(spec["B"], spec["block_size"])
    elif spec["impl"] == "rate":
        result = _rate_case(spec["B"], spec["block_size"], spec["repeats"])
    else:
        result = _jax_case(spec["impl"], spec["B"], spec.get("block_size"), spec["repeats"],
                           spec["warmup"])
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


# --- the parent: cases, ratios, targets, plot ------------------------------------------------


def _run_worker(spec, timeout):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("XLA_FLAGS", None)  # one CPU device, as a user would have
    # Fixed (not adaptive) glibc mmap threshold: buffers of 1 MiB and more are returned to the OS
    # when freed, so a step's resident-memory peak is its own, not a re-used earlier block.
    env["MALLOC_MMAP_THRESHOLD_"] = str(2**20)
    if spec.get("omp_wait_policy"):
        env["OMP_WAIT_POLICY"] = spec["omp_wait_policy"]
    cmd = [sys.executable, "-m", "benchmarks.loss_scaling", "--worker", json.dumps(spec)]
    start, load = time.perf_counter(), os.getloadavg()[0]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(spec, error=f"timed out after {timeout} s")
    if proc.returncode != 0:
        return dict(spec, error=proc.stderr.strip().splitlines()[-1:])
    result = dict(spec, **json.loads(proc.stdout.strip().splitlines()[-1]))
    result["wall_s"] = time.perf_counter() - start
    result["load_avg_1min_before"] = load
    return result


def _has_torch():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _settings(quick):
    if quick:
        return dict(batches=[256, 512], big=[1024], compare=[512], accuracy_batch=256, repeats=1,
                    block_size=128)
    return dict(batches=[1024, 2048, 4096, 8192, 16384], big=[65536], compare=[8192, 16384],
                accuracy_batch=4096, repeats=2, block_size=256)


def _useful_gflops(case):
    return 6 * case["B"] ** 2 * DIM / case["time_s"] / 1e9


def _targets(cases, accuracy, settings, torch_ok):
    by = {(c["impl"], c["B"]): c for c in cases if "error" not in c}
    out = {}
    for b in settings["big"]:
        c = by.get(("jax_blockwise", b))
        out[f"B{b}_blockwise_peak_rss_under_1GiB"] = {
            "value_mib": c and c["peak_rss_mib"], "met": bool(c and c["peak_rss_mib"] < 1024)}
    for b in settings["compare"]:
        blk, naive, rate = (by.get((impl, b)) for impl in ("jax_blockwise", "jax_naive", "rate"))
        if blk and naive:
            out[f"B{b}_blockwise_faster_than_naive"] = {
                "time_ratio": blk["time_s"] / naive["time_s"],
                "met": blk["time_s"] < naive["time_s"]}
        if rate:
            frac = rate["useful_fraction_of_matmul"]
            out[f"B{b}_useful_rate_vs_matmul"] = {"fraction": frac, "met": frac >= 0.55}
        tor = by.get(("torch", b))
        if torch_ok and blk and tor:
            out[f"B{b}_time_vs_torch"] = {"ratio": blk["time_s"] / tor["time_s"],
                                          "met": blk["time_s"] <= 0.5 * tor["time_s"]}
            out[f"B{b}_step_memory_vs_torch"] = {
                "ratio": blk["step_mib"] / tor["step_mib"],
                "met": blk["step_mib"] <= 0.1 * tor["step_mib"]}
    if accuracy and "error" not in accuracy:
        for scale in (f"{LOGIT_SCALE:g}", "100"):
            ratio = (accuracy[f"scale{scale}_blockwise_grad_rel_err"]
                     / accuracy[f"scale{scale}_naive_grad_rel_err"])
            out[f"grad_error_blockwise_over_naive_scale{scale}"] = {"ratio": ratio,
                                                                    "met": ratio <= 2.0}
    return out


def _plot(cases, skipped, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"jax_naive": ("naive JAX", "tab:red", "s"),
              "jax_blockwise": ("blockwise JAX", "tab:blue", "o"),
              "torch": ("PyTorch (open_clip style)", "tab:orange", "^")}
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for impl, (label, color, marker) in styles.items():
        rows = sorted((c for c in cases if c["impl"] == impl and "error" not in c),
                      key=lambda c: c["B"])
        if not rows:
            continue
        bs = [c["B"] for c in rows]
        ax_t.plot(bs, [c["time_s"] for c in rows], marker=marker, color=color, label=label)
        ax_m.plot(bs, [c["peak_rss_mib"] for c in rows], marker=marker, color=color,
                  label=f"{label}: process peak")
        ax_m.plot(bs, [max(c["step_mib"], 1.0) for c in rows], marker=marker, color=color,
                  linestyle=":", label=f"{label}: one step")
    for b, estimate in sorted({(s["B"], s["estimated_mib"]) for s in skipped}):
        ax_m.plot([b], [estimate], marker="x", color="tab:red", linestyle="none", markersize=9,
                  label=f"naive forms at B={b}: estimate, not run")
    ax_t.set(xscale="log", yscale="log", xlabel="batch size B", ylabel="seconds",
             title=f"CLIP loss forward + backward, D={DIM}, float32")
    ax_m.set(xscale="log", yscale="log", xlabel="batch size B", ylabel="MiB",
             title="peak resident memory")
    ax_m.axhline(1024, color="gray", linewidth=0.8, linestyle="--")
    ax_m.annotate("1 GiB", (1.0, 1024), xycoords=("axes fraction", "data"), ha="right",
                  va="bottom", fontsize=7, color="gray")
    for ax in (ax_t, ax_m):
        ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke version")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--block_size", type=int, default=None)
    parser.add_argument("--no_torch", action="store_true", help="skip the PyTorch rows")
    parser.add_argument("--plot", default=PNG, help="PNG path ('' for none)")
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(json.loads(args.worker))

    settings = _settings(args.quick)
    block = args.block_size or settings["block_size"]
    torch_ok = not args.no_torch and _has_torch()
    common = {"repeats": settings["repeats"], "warmup": 1}
    load_start, start = os.getloadavg(), time.perf_counter()
    cases, skipped = [], []
    for b in settings["batches"] + settings["big"]:
        big = b in settings["big"]
        if not big:
            cases.append(_run_worker(dict(common, impl="rate", B=b, block_size=block), 600))
        cases.append(_run_worker(dict(common, impl="jax_blockwise", B=b, block_size=block,
                                      **({"repeats": 1, "warmup": 0} if big else {})), 900))
        if big:
            estimate = 4 * b * b * 4 / 2**20
            reason = f"not run at the largest B: needs ~4 B^2 float32 = {estimate / 1024:.0f} GiB"
            skipped.append({"impl": "jax_naive", "B": b, "reason": reason,
                            "estimated_mib": estimate})
            if torch_ok:
                skipped.append({"impl": "torch", "B": b, "reason": reason,
                                "estimated_mib": estimate})
            continue
        cases.append(_run_worker(dict(common, impl="jax_naive", B=b), 600))
        if torch_ok:  # OpenMP's default spinning vs sleeping threads: the faster one counts
            steps = {"warmup": 1, "repeats": 1} if b >= 16384 else {"warmup": 2}
            tries = [_run_worker(dict(common, impl="torch", B=b, omp_wait_policy=policy, **steps),
                                 600) for policy in ("", "PASSIVE")]
            ok = [t for t in tries if "error" not in t] or tries
            best = min(ok, key=lambda t: t.get("time_s", float("inf")))
            for t in tries:
                t["impl"] = "torch" if t is best else "torch_other_omp_policy"
            cases.extend(tries)
    accuracy = _run_worker({"impl": "accuracy", "B": settings["accuracy_batch"],
                            "block_size": block}, 600)
    for c in cases:
        if "time_s" in c:
            c["useful_gflops"] = _useful_gflops(c)
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "load_avg_1_5_15_start": load_start,
                    "load_avg_1_5_15_end": os.getloadavg(),
                    "total_wall_s": time.perf_counter() - start},
        "settings": dict(settings, dim=DIM, dtype="float32", logit_scale=LOGIT_SCALE,
                         block_size=block),
        "torch": ("available" if torch_ok else "skipped (--no_torch)" if args.no_torch else
                  "not installed: PyTorch rows skipped (pip install torch==2.13.0)"),
        "cases": cases, "skipped": skipped, "accuracy": accuracy,
        "targets": _targets(cases, accuracy, settings, torch_ok),
    }
    if args.plot:
        _plot(cases, skipped, args.plot)
        report["plot"] = args.plot
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
