"""Where the time of one jitted SimCLR train step goes on XLA:CPU: a JAX profiler trace of
``--steps`` steps, each executed thunk (one HLO instruction or fusion) summed over the steps
and attributed to a category from the compiled HLO (forward convolution, convolution
gradients, layout transposes, dots, reductions, elementwise fusions, ...), plus whether the
state is donated (input/output aliasing in the executable).

    python -m benchmarks.step_profile [--model=convnet|resnet18] [--steps=5] [--top=25]
    XLA_FLAGS=... python -m benchmarks.step_profile      # the same under other XLA options

The step is the one ``benchmarks.train_throughput`` times (built through the package's own
functions, two pre-made views). Thunk times are summed over every thread, so on a machine
where the step runs ops in parallel they add up to more than the wall time. Prints JSON.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import tempfile
import time

from benchmarks.train_throughput import build_jax_step, jax_config

_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = (\S+) (\w[\w\-]*)\((.*)$")


def _category(name: str, opcode: str, op_name: str) -> str:
    """``forward: conv_general_dilated``, ``backward: reduce_window_max``, ``layout
    transpose / copy``, ...: the JAX primitive the instruction came from (the last part of
    its ``op_name`` metadata) and whether it is in the gradient (``transpose(jvp(...))``)."""
    if "transpose_copy" in name or opcode in ("transpose", "copy"):
        return "layout transpose / copy"
    if not op_name:
        return f"other ({opcode})"
    primitive = re.sub(r"\[.*$", "", op_name.rsplit("/", 1)[-1])
    pass_ = "backward" if "transpose(" in op_name else "forward"
    if "optax" in op_name or "apply_updates" in op_name:
        pass_ = "optimizer"
    return f"{pass_}: {primitive}"


def hlo_categories(hlo_text: str) -> dict:
    """``{instruction name: (category, op_name metadata)}`` from a compiled module's text."""
    computations, current = {}, None
    for line in hlo_text.splitlines():
        header = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$", line)
        if header and "=" not in line.split("{")[0]:
            current = header.group(1)
            computations[current] = []
        elif current is not None:
            computations[current].append(line)
    out = {}
    for lines in computations.values():
        for line in lines:
            match = _INSTRUCTION.match(line)
            if not match:
                continue
            name, _, opcode, _ = match.groups()
            op_name = re.search(r'op_name="([^"]*)"', line)
            op_name = op_name.group(1) if op_name else ""
            out[name] = (_category(name, opcode, op_name), op_name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="convnet", choices=("convnet", "resnet18"))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import jax

    config, shape = jax_config(args.model, args.quick)
    step, state, batch, num_params = build_jax_step(config, shape)
    compiled = step.lower(state, batch).compile()
    hlo = compiled.as_text()
    names = hlo_categories(hlo)
    state, metrics = step(state, batch)
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for _ in range(args.steps):
        state, metrics = step(state, batch)
    jax.block_until_ready((state, metrics))
    wall = (time.perf_counter() - start) / args.steps
    with tempfile.TemporaryDirectory() as trace_dir:
        jax.profiler.start_trace(trace_dir, create_perfetto_trace=True)
        for _ in range(args.steps):
            state, metrics = step(state, batch)
        jax.block_until_ready((state, metrics))
        jax.profiler.stop_trace()
        path = glob.glob(os.path.join(trace_dir, "**", "perfetto_trace.json.gz"),
                         recursive=True)[0]
        with gzip.open(path) as f:
            trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    per_thunk = collections.Counter()
    for event in events:
        if event.get("ph") == "X" and event.get("name") in names:
            per_thunk[event["name"]] += event.get("dur", 0) / 1e3 / args.steps  # ms per step
    per_category = collections.Counter()
    for name, ms in per_thunk.items():
        per_category[names[name][0]] += ms
    total = sum(per_thunk.values())
    print(json.dumps({
        "model": args.model, "batch_size": config.batch_size, "num_params": num_params,
        "xla_flags": os.environ.get("XLA_FLAGS", ""), "step_wall_ms": round(wall * 1e3, 1),
        "thunk_ms_per_step": round(total, 1),
        "state_donated": "input_output_alias" in hlo.split("\n", 1)[0],
        "by_category_ms": {k: round(v, 1) for k, v in per_category.most_common()},
        "by_category_fraction": {k: round(v / total, 3) for k, v in per_category.most_common()},
        "top_thunks": [{"name": n, "ms": round(ms, 2), "category": names[n][0],
                        "op": names[n][1][-120:]} for n, ms in per_thunk.most_common(args.top)],
        "loadavg_1min": os.getloadavg()[0],
    }, indent=1))


if __name__ == "__main__":
    main()
