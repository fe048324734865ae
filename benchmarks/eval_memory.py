"""Peak host memory of the final evaluation: it grows with N x feature_dim, not N x image.

    python -m benchmarks.eval_memory [--sizes=5000,20000] [--image_size=96]
    python -m benchmarks.eval_memory --dataset=folder:/tmp/jpegs --sizes=5000,20000

For each N, a fresh subprocess builds the evaluation of a randomly initialised SimCLR convnet
(global average pooling, so ``feature_dim`` does not depend on the image size) and runs
``Evaluation.final`` (learned row: kNN + linear probe; no baselines, since the raw-pixel row is
N x image by nature) on N train and N/5 held-out records. Peak memory is the process's
``ru_maxrss``; ``eval_peak_mib`` is its growth during the final evaluation (over what the
process held before it). The default source makes every image on the fly from its index (no
array of images anywhere); ``--dataset`` takes any registered name instead (its first N / N/5
records of each split are read). Prints one JSON object: per N the measurement, the bytes the
split's images and features would take, and the growth between the two sizes against both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import types

import numpy as np

SYNTHETIC = "synthetic"
NUM_CLASSES = 10


class SyntheticImages:
    """``n`` uint8 [S, S, 3] images, each a deterministic function of its index: its class's
    colour plus noise seeded by the index. Nothing is stored."""

    def __init__(self, n: int, image_size: int, offset: int = 0):
        from contrastive_jax.data.sources import SourceInfo

        self.n, self.size, self.offset = n, image_size, offset
        self.info = SourceInfo(SYNTHETIC, (image_size, image_size, 3), NUM_CLASSES,
                               tuple(str(c) for c in range(NUM_CLASSES)))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        label = (index + self.offset) % NUM_CLASSES
        rng = np.random.default_rng(index + self.offset)
        colour = np.asarray([25 * label, 255 - 25 * label, 128], np.int16)
        noise = rng.integers(-40, 40, (self.size, self.size, 3), dtype=np.int16)
        return {"image": np.clip(colour + noise, 0, 255).astype(np.uint8),
                "label": np.int32(label)}


class FirstRecords:
    """The first ``n`` records of a source (a registered data set cut to the benchmark's N)."""

    def __init__(self, source, n: int):
        if len(source) < n:
            raise ValueError(f"{source.info.name} has {len(source)} records, fewer than {n}.")
        self.source, self.n, self.info = source, n, source.info

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return self.source[index]


def sources(dataset: str, num_train: int, num_test: int, image_size: int):
    if dataset == SYNTHETIC:
        return (SyntheticImages(num_train, image_size),
                SyntheticImages(num_test, image_size, offset=num_train))
    from contrastive_jax.data.sources import build_source

    options = {"image_size": image_size} if dataset.startswith("folder:") else {}
    return tuple(FirstRecords(build_source(dataset, split, **options), n)
                 for split, n in (("train", num_train), ("test", num_test)))


def max_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(dataset: str, num_train: int, image_size: int) -> dict:
    """One final evaluation in this process: its peak memory and time."""
    import jax

    from configs import simclr
    from contrastive_jax.train import build, final_eval
    from contrastive_jax.train.state import split_model

    config = simclr.get_config("scale=tiny")
    config.encoder.update(widths=(16, 32), pool="mean")
    config.eval.update(final_baselines=False, plot_embedding=False, probe_l2_grid=(1e-2,),
                       batch_size=500)
    train, test = sources(dataset, num_train, num_train // 5, image_size)
    make_views = build.build_views(config.augment)
    method = build.build_method(config, image_shape=train.info.image_shape,
                                make_views=make_views, num_classes=train.info.num_classes)
    parts = build.Parts(train, test, make_views, method)
    example = {key: np.stack([value] * 2) for key, value in train[0].items()}
    graphdef, params, model_state = split_model(method.init(jax.random.key(0), example)[0])
    state = types.SimpleNamespace(params=params, model_state=model_state, step=np.int32(0))
    evaluation = final_eval.Evaluation(parts, graphdef, config.eval)
    before = max_rss_mib()
    start = time.perf_counter()
    summary = evaluation.final(state, config, start_time=time.time())
    seconds = time.perf_counter() - start
    dim = summary["results"]["learned"]["feature_dim"]
    image_bytes = int(np.prod(train.info.image_shape))
    num_total = len(train) + len(test)
    return {"num_train": len(train), "num_test": len(test), "image_shape": train.info.image_shape,
            "feature_dim": dim, "rss_before_eval_mib": round(before, 1),
            "peak_rss_mib": round(max_rss_mib(), 1),
            "eval_peak_mib": round(max_rss_mib() - before, 1), "eval_s": round(seconds, 1),
            "images_would_take_mib": round(num_total * image_bytes / 2**20, 1),
            "features_take_mib": round(num_total * dim * 4 / 2**20, 1),
            "knn": summary["results"]["learned"]["knn"],
            "linear_probe": summary["results"]["learned"]["linear_probe"]}


def growth(small: dict, large: dict) -> dict:
    """How much more the larger N needed, against how much more its images / features take."""
    return {"eval_peak_mib": round(large["eval_peak_mib"] - small["eval_peak_mib"], 1),
            "images_mib": round(large["images_would_take_mib"]
                                - small["images_would_take_mib"], 1),
            "features_mib": round(large["features_take_mib"] - small["features_take_mib"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=SYNTHETIC,
                        help=f"a registered data set name (default: {SYNTHETIC}, made on the fly)")
    parser.add_argument("--sizes", default="5000,20000", help="numbers of train records N")
    parser.add_argument("--image_size", type=int, default=96, help="synthetic images' side")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.dataset, args.child, args.image_size)))
        return
    runs = []
    for size in (int(n) for n in args.sizes.split(",")):
        command = [sys.executable, "-m", "benchmarks.eval_memory", f"--dataset={args.dataset}",
                   f"--image_size={args.image_size}", f"--child={size}"]
        output = subprocess.run(command, check=True, capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
    report = {"dataset": args.dataset, "runs": runs}
    if len(runs) >= 2:
        report["growth_first_to_last"] = growth(runs[0], runs[-1])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
