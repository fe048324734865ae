"""Images/s of the library's SimCLR train step against the same model, loss and optimizer in
PyTorch, and of ``main``'s loop against a bare loop over the same step.

    python -m benchmarks.train_throughput                      # convnet and resnet18, ~10 min
    python -m benchmarks.train_throughput --models=convnet --rounds=5
    python -m benchmarks.train_throughput --quick              # smoke version (tiny models)
    XLA_FLAGS=--xla_cpu_use_thunk_runtime=false python -m benchmarks.train_throughput ...

JAX side: the jitted step ``main`` runs, built by the package's own functions in ``main``'s
order (``configs/simclr.py`` -> ``train.build`` -> ``train.optim`` -> ``train.state.plan_train_state``
-> ``train.step.make_train_step``), with ``augment=none``: two pre-made (identical) views, so
the augmentation is not part of the comparison. PyTorch side (optional; skipped with a message
if torch is absent): the same encoder, projector (Linear-BN-ReLU-Linear), NT-Xent (temperature
0.2, mean over the 2B anchors) and AdamW (weight decay on kernels only), written as a plain
PyTorch user would, NCHW, ``torch.set_num_threads(os.cpu_count())``; the parameter counts are
asserted equal. Models: ``convnet`` (the default config's, 28x28x1, batch 256) and ``resnet18``
(CIFAR stem, width 64, 32x32x3, batch 128); for an accelerator, ``resnet18_224`` and
``resnet50_224`` (ImageNet stem, 224x224x3, batch 128). ``--dtype=float32`` (default) or
``bfloat16``: JAX's ``config.dtype`` (bfloat16 activations, float32 parameters) against
PyTorch's automatic mixed precision (``torch.autocast`` bfloat16). PyTorch runs on CUDA when it
sees a GPU (with ``cudnn.benchmark``), JAX on its default backend; ``benchmarks/gpu_run.sh`` is
the prepared accelerator run.

Each side runs in its own worker process (so ``peak_rss_mib`` is that side's ``ru_maxrss``:
imports, compilation, steps); the parent alternates rounds of ``--steps`` steps between the
two and reports images/s per round and the median of the per-round ratios as
``jax_over_torch_ratio``. ``compile_s`` is the first step (tracing, compilation, one
execution) for JAX, the first step for PyTorch.

``loop_over_bare_ratio``: ``main`` itself on ``configs/simclr.py`` (mnist5k, the real
augmentation and data pipeline; evaluation off) reports steps/s per logged window, the median
of the windows after the first; a bare ``for`` loop over the same jitted step (same config,
one fixed device batch) gives the reference; alternated ``--loop_rounds`` times.

The machine may be shared: the load average is recorded around every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {  # name -> (encoder, image shape, batch size, ResNet stem)
    "convnet": ("convnet", (28, 28, 1), 256, None),
    "resnet18": ("resnet18", (32, 32, 3), 128, "cifar"),
    # For an accelerator (issue 17's GPU run): ImageNet stem at 224 px.
    "resnet18_224": ("resnet18", (224, 224, 3), 128, "imagenet"),
    "resnet50_224": ("resnet50", (224, 224, 3), 128, "imagenet"),
}
QUICK_MODELS = {"convnet": ("convnet", (28, 28, 1), 32, None),
                "resnet18": ("resnet18", (16, 16, 3), 8, "cifar"),
                "resnet18_224": ("resnet18", (32, 32, 3), 4, "imagenet"),
                "resnet50_224": ("resnet50", (32, 32, 3), 4, "imagenet")}
DTYPES = ("float32", "bfloat16")
TEMPERATURE = 0.2


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _images(shape, batch, seed=0):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, (batch, *shape), dtype=np.uint8)


# --- JAX side ------------------------------------------------------------------------------

def jax_config(model: str, quick: bool, augment: str = "none", dtype: str = "float32"):
    """``configs/simclr.py`` for ``model`` with the benchmark's batch size, ``augment`` and
    compute ``dtype`` (``config.dtype``: bfloat16 activations, float32 parameters)."""
    sys.path.insert(0, ROOT)
    from configs import simclr

    encoder, shape, batch, stem = (QUICK_MODELS if quick else MODELS)[model]
    config = simclr.get_config("encoder=resnet18" if stem else f"encoder={encoder}")
    if augment == "none":
        config.augment = {"name": "none"}
    config.batch_size = batch
    config.dtype = dtype
    if stem:
        config.encoder = dict(name=encoder, width_multiplier=0.125 if quick else 1.0, stem=stem)
    if quick:
        config.encoder.widths = (8, 16) if encoder == "convnet" else config.encoder.get("widths")
        config.method.proj_hidden_dim, config.method.proj_dim = 32, 16
    return config, shape


def build_jax_step(config, shape):
    """``(step, state, batch, num_params)`` built as ``train.loop.train_and_evaluate`` builds
    them (without the data source: the batch is random uint8 images of ``shape``)."""
    import jax
    import numpy as np

    from contrastive_jax.train import build, optim
    from contrastive_jax.train import mesh as mesh_lib
    from contrastive_jax.train.state import count_params, plan_train_state
    from contrastive_jax.train.step import make_train_step

    build.validate_config(config)
    make_views = build.build_views(config.augment)
    method = build.build_method(config, image_shape=shape, make_views=make_views, num_classes=10)
    optimizer, schedule = optim.make_optimizer(config.optimizer, config.total_steps)
    mesh = mesh_lib.make_mesh(config.mesh)
    example = {"image": np.zeros(shape, np.uint8), "label": np.int32(0)}
    graphdef, _, state_sharding, create = plan_train_state(
        method, optimizer, example, mesh, fsdp_min_size=config.mesh.fsdp_min_size,
        compute_dtype=config.dtype)
    state = create(jax.random.key(config.seed))
    batch_sharding = mesh_lib.batch_sharding(mesh)
    step = make_train_step(graphdef=graphdef, method=method, optimizer=optimizer,
                           schedule=schedule, seed=config.seed, state_sharding=state_sharding,
                           batch_sharding=batch_sharding,
                           metrics_sharding=mesh_lib.replicated(mesh))
    images = _images(shape, config.batch_size)
    batch = jax.device_put({"image": images, "label": np.zeros(len(images), np.int32)},
                           batch_sharding)
    return step, state, batch, count_params(state.params)


class JaxSide:
    def __init__(self, model, quick, augment="none", dtype="float32"):
        import jax

        config, shape = jax_config(model, quick, augment, dtype)
        self.step, self.state, self.batch, self.num_params = build_jax_step(config, shape)
        self.batch_size = config.batch_size
        start = time.perf_counter()
        self.run(1)
        self.compile_s = time.perf_counter() - start
        self._jax = jax

    def peak_device_mib(self):
        """Peak accelerator memory in use (None on the CPU, which keeps no such count)."""
        stats = self._jax.devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
        return None if peak is None else round(peak / 2**20, 1)

    def run(self, steps):
        import jax

        for _ in range(steps):
            self.state, metrics = self.step(self.state, self.batch)
        jax.block_until_ready((self.state, metrics))
        self.loss = float(metrics["loss"])


# --- PyTorch side --------------------------------------------------------------------------

def torch_model(model: str, quick: bool, shape):
    import torch
    from torch import nn

    encoder_name, _, _, stem = (QUICK_MODELS if quick else MODELS)[model]

    def bn(c):  # Flax BatchNorm(momentum=0.9, epsilon=1e-5) = torch momentum 0.1
        return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    if encoder_name == "convnet":
        widths = (8, 16) if quick else (16, 32, 64)
        layers, channels, size = [], shape[-1], shape[0]
        for index, width in enumerate(widths):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), bn(width),
                       nn.ReLU(inplace=True)]
            if index < 2:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            channels = width
        encoder = nn.Sequential(*layers, nn.Flatten())
        feature_dim = channels * size * size
    else:
        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
                self.bn1 = bn(cout)
                self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
                self.bn2 = bn(cout)
                self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                               bn(cout))
                                 if stride != 1 or cin != cout else nn.Identity())

            def forward(self, x):
                out = torch.relu(self.bn1(self.conv1(x)))
                out = self.bn2(self.conv2(out))
                return torch.relu(out + self.shortcut(x))

        class Bottleneck(nn.Module):  # 1x1 reduce, 3x3 (strided: "v1.5"), 1x1 expand by 4
            def __init__(self, cin, channels, stride):
                super().__init__()
                cout = 4 * channels
                self.body = nn.Sequential(
                    nn.Conv2d(cin, channels, 1, bias=False), bn(channels), nn.ReLU(inplace=True),
                    nn.Conv2d(channels, channels, 3, stride, 1, bias=False), bn(channels),
                    nn.ReLU(inplace=True), nn.Conv2d(channels, cout, 1, bias=False), bn(cout))
                self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                               bn(cout))
                                 if stride != 1 or cin != cout else nn.Identity())

            def forward(self, x):
                return torch.relu(self.body(x) + self.shortcut(x))

        width = 8 if quick else 64
        if stem == "imagenet":  # 7x7/2 convolution, BatchNorm, ReLU, 3x3/2 max-pool
            layers = [nn.Conv2d(shape[-1], width, 7, 2, 3, bias=False), bn(width),
                      nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
        else:
            layers = [nn.Conv2d(shape[-1], width, 3, 1, 1, bias=False), bn(width),
                      nn.ReLU(inplace=True)]
        bottleneck = encoder_name == "resnet50"
        cin = width
        for stage, blocks in enumerate((3, 4, 6, 3) if bottleneck else (2, 2, 2, 2)):
            channels = width * 2**stage
            for index in range(blocks):
                stride = 2 if stage > 0 and index == 0 else 1
                if bottleneck:
                    layers.append(Bottleneck(cin, channels, stride))
                    cin = 4 * channels
                else:
                    layers.append(Block(cin, channels, stride))
                    cin = channels
        encoder = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        feature_dim = cin
    hidden, out = (32, 16) if quick else (512, 128)
    projector = nn.Sequential(nn.Linear(feature_dim, hidden, bias=False),
                              nn.BatchNorm1d(hidden, eps=1e-5, momentum=0.1),
                              nn.ReLU(inplace=True), nn.Linear(hidden, out))
    return nn.Sequential(encoder, projector)


def torch_nt_xent(z, temperature):
    import torch
    import torch.nn.functional as F

    z = F.normalize(z, dim=1)
    n = z.shape[0] // 2
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device),
                                float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)


class TorchSide:
    """The PyTorch step on CUDA when torch sees a GPU, else on the CPU; ``dtype="bfloat16"``:
    automatic mixed precision (``torch.autocast``, bfloat16, float32 parameters)."""

    def __init__(self, model, quick, threads, dtype="float32"):
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        _, shape, batch, _ = (QUICK_MODELS if quick else MODELS)[model]
        self.batch_size = batch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.backends.cudnn.benchmark = True  # what a PyTorch user sets for fixed shapes
        self.autocast = dtype == "bfloat16"
        self.net = torch_model(model, quick, shape).to(self.device)
        self.num_params = sum(p.numel() for p in self.net.parameters())
        decay = [p for p in self.net.parameters() if p.ndim >= 2]
        no_decay = [p for p in self.net.parameters() if p.ndim < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=2e-3)
        images = torch.from_numpy(_images(shape, batch)).permute(0, 3, 1, 2).contiguous()
        self.images = images.to(self.device)
        self.net.train()
        start = time.perf_counter()
        self.run(1)
        self.compile_s = time.perf_counter() - start

    def run(self, steps):
        import torch

        for _ in range(steps):
            x = self.images.float() / 255.0 * 2.0 - 1.0
            with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.autocast):
                z = self.net(torch.cat([x, x]))  # two pre-made views, one forward (shared BN)
            loss = torch_nt_xent(z.float(), TEMPERATURE)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        self.loss = float(loss.detach())

    def peak_device_mib(self):
        import torch

        if self.device != "cuda":
            return None
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)


# --- workers and the parent ----------------------------------------------------------------

def worker(args) -> None:
    """Build one side, report ``ready``, then answer ``STEPS`` lines with timings."""
    if args.worker == "jax":
        side = JaxSide(args.model, args.quick, dtype=args.dtype)
    elif args.worker == "bare":
        side = JaxSide("convnet", args.quick, augment="simclr")
    else:
        side = TorchSide(args.model, args.quick, args.threads, dtype=args.dtype)
    say({"ready": True, "num_params": side.num_params,
                      "compile_s": round(side.compile_s, 3), "batch_size": side.batch_size,
         "loss": side.loss})
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        steps = int(line)
        start = time.perf_counter()
        side.run(steps)
        say({"seconds": time.perf_counter() - start, "loss": side.loss})
    say({"peak_rss_mib": round(_peak_rss_mib(), 1), "peak_device_mib": side.peak_device_mib()})


PREFIX = "@@worker "


def say(message: dict) -> None:
    """One protocol line on stdout (other output, e.g. the config's notes, is skipped)."""
    print(PREFIX + json.dumps(message), flush=True)


class Worker:
    def __init__(self, kind, args, model, xla_flags=None):
        command = [sys.executable, "-m", "benchmarks.train_throughput", f"--worker={kind}",
                   f"--model={model}", f"--threads={args.threads}", f"--dtype={args.dtype}"
                   ] + ["--quick"] * args.quick
        env = dict(os.environ, PYTHONPATH=ROOT)
        if xla_flags is not None:
            env["XLA_FLAGS"] = xla_flags
        self.process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        self.info = self._read()

    def _read(self):
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"worker {self.process.args} died "
                                   f"(exit {self.process.wait()})")
            if line.startswith(PREFIX):
                return json.loads(line[len(PREFIX):])

    def steps(self, count):
        self.process.stdin.write(f"{count}\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        self.process.stdin.write("quit\n")
        self.process.stdin.flush()
        result = self._read()
        self.process.wait()
        return result


def compare(model, args, have_torch) -> dict:
    load = [os.getloadavg()[0]]
    workers = {"jax": Worker("jax", args, model)}
    for name, flags in args.variants:
        workers[f"jax[{name}]"] = Worker("jax", args, model, xla_flags=flags)
    if have_torch:
        workers["torch"] = Worker("torch", args, model)
        assert workers["jax"].info["num_params"] == workers["torch"].info["num_params"], (
            workers["jax"].info, workers["torch"].info)
    batch = workers["jax"].info["batch_size"]
    per_round = {name: [] for name in workers}
    for _ in range(args.rounds):
        for name, w in workers.items():
            w.steps(args.warmup) if args.warmup else None
            per_round[name].append(args.steps * batch / w.steps(args.steps)["seconds"])
        load.append(os.getloadavg()[0])
    result = {"batch_size": batch, "num_params": workers["jax"].info["num_params"],
              "images_per_s": {k: [round(v, 1) for v in vs] for k, vs in per_round.items()},
              "median_images_per_s": {k: round(statistics.median(v), 1)
                                      for k, v in per_round.items()},
              "compile_s": {k: w.info["compile_s"] for k, w in workers.items()},
              "loadavg_1min": load}
    peaks = {k: w.close() for k, w in workers.items()}
    result["peak_rss_mib"] = {k: p["peak_rss_mib"] for k, p in peaks.items()}
    if any(p["peak_device_mib"] is not None for p in peaks.values()):
        result["peak_device_mib"] = {k: p["peak_device_mib"] for k, p in peaks.items()}
    if have_torch:
        ratios = [j / t for j, t in zip(per_round["jax"], per_round["torch"])]
        result["ratio_per_round"] = [round(r, 3) for r in ratios]
        result["jax_over_torch_ratio"] = round(statistics.median(ratios), 3)
    if args.variants:
        # Each XLA_FLAGS variant against the default JAX step (and PyTorch), per round; the
        # first step's loss shows whether the variant changes the numbers.
        result["first_step_loss"] = {k: w.info["loss"] for k, w in workers.items()}
        result["variants"] = {}
        for name, flags in args.variants:
            key = f"jax[{name}]"
            row = {"xla_flags": flags, "over_default_jax": round(statistics.median(
                [v / j for v, j in zip(per_round[key], per_round["jax"])]), 3)}
            if have_torch:
                row["over_torch"] = round(statistics.median(
                    [v / t for v, t in zip(per_round[key], per_round["torch"])]), 3)
            result["variants"][name] = row
    return result


def main_loop_steps_per_s(args) -> float:
    """Median steps/s of ``main``'s logged windows after the first (``configs/simclr.py``)."""
    steps, every = args.loop_steps, args.loop_log_every
    config = "configs/simclr.py:scale=tiny" if args.quick else "configs/simclr.py"
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "contrastive_jax.main", f"--config={config}",
                   f"--workdir={workdir}", "--config.progress_bar=False",
                   f"--config.total_steps={steps}", f"--config.log_every_steps={every}",
                   f"--config.checkpoint.every_steps={steps}",
                   f"--config.eval.every_steps={10 * steps}",
                   "--config.eval.final_linear_probe=False", "--config.eval.final_baselines=False",
                   "--config.eval.plot_embedding=False"]
        if args.quick:
            command += ["--config.batch_size=32"]
        env = dict(os.environ, PYTHONPATH=ROOT)
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(result.stderr[-3000:])
        with open(os.path.join(workdir, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return statistics.median(r["steps_per_second"] for r in rows[1:])


def loop_vs_bare(args) -> dict:
    load = [os.getloadavg()[0]]
    loop, bare = [], []
    for _ in range(args.loop_rounds):
        loop.append(main_loop_steps_per_s(args))
        w = Worker("bare", args, "convnet")
        w.steps(2)
        count = args.loop_steps - args.loop_log_every
        bare.append(count / w.steps(count)["seconds"])
        w.close()
        load.append(os.getloadavg()[0])
    ratios = [a / b for a, b in zip(loop, bare)]
    return {"main_steps_per_s": [round(x, 3) for x in loop],
            "bare_steps_per_s": [round(x, 3) for x in bare],
            "loop_over_bare_ratio": round(statistics.median(ratios), 3),
            "loadavg_1min": load}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="convnet,resnet18")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="steps per round")
    parser.add_argument("--warmup", type=int, default=0, help="untimed steps before a round")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no_torch", action="store_true")
    parser.add_argument("--no_loop", action="store_true")
    parser.add_argument("--loop_rounds", type=int, default=2)
    parser.add_argument("--loop_steps", type=int, default=60)
    parser.add_argument("--loop_log_every", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME=XLA_FLAGS: also time the JAX step under these XLA_FLAGS, "
                             "e.g. onednn=--xla_cpu_experimental_onednn_fusion_type=...")
    parser.add_argument("--worker", choices=("jax", "torch", "bare"))
    parser.add_argument("--model", default="convnet")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="compute dtype of both sides: bfloat16 = JAX config.dtype "
                             "bfloat16 against PyTorch autocast (AMP) bfloat16")
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    args.variants = [tuple(v.split("=", 1)) for v in args.variant]
    if args.quick:
        args.rounds, args.loop_rounds, args.loop_steps, args.loop_log_every = 2, 1, 6, 2
    try:
        import torch  # noqa: F401
        have_torch = not args.no_torch
        torch_version = torch.__version__
    except ImportError:
        have_torch, torch_version = False, None
        print("torch is not installed: measuring the JAX side only "
              "(pip install torch --index-url https://download.pytorch.org/whl/cpu)",
              file=sys.stderr)
    import jax

    out = {"jax": jax.__version__, "torch": torch_version, "threads": args.threads,
           "cpu_count": os.cpu_count(), "xla_flags": os.environ.get("XLA_FLAGS", ""),
           "quick": args.quick, "rounds": args.rounds, "dtype": args.dtype,
           "jax_devices": [str(d) for d in jax.devices()],
           "torch_device": ("cuda" if have_torch and torch.cuda.is_available() else "cpu")
           if have_torch else None, "models": {}}
    for model in filter(None, args.models.split(",")):
        steps = args.steps or (2 if args.quick else (10 if model == "convnet" else 2))
        args_for = argparse.Namespace(**{**vars(args), "steps": steps})
        out["models"][model] = compare(model, args_for, have_torch)
        out["models"][model]["steps_per_round"] = steps
    if not args.no_loop:
        out["loop"] = loop_vs_bare(args)
        out["loop_over_bare_ratio"] = out["loop"]["loop_over_bare_ratio"]
    if have_torch:
        out["jax_over_torch_ratio"] = {m: r["jax_over_torch_ratio"]
                                       for m, r in out["models"].items()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
