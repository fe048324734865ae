"""Host input pipeline throughput: the ``folder:`` source through our grain loader vs PyTorch.

    python -m benchmarks.input_pipeline            # 2,000 JPEGs, crops to 224 and 64
    python -m benchmarks.input_pipeline --quick    # smoke version (200 JPEGs, one round)

Writes a synthetic image folder (10 classes of JPEGs, sides drawn from 200-500 px, smooth
random content, quality 90) to a temporary directory and measures decoded + random-resized-
cropped + flipped uint8 images per second, for each crop size:

* **ours**: ``FolderSource`` -> ``data.pipeline.make_train_loader`` with a one-view
  ``HostCrop`` (scale 0.08-1, ratio 3/4-4/3, flip p = 0.5 on the host), on ``--workers``
  threads (``ours_threads``) and, with ``--processes``, on ``--workers`` grain worker
  processes (``ours_processes``, the default of the train loader).
* **torch**: ``torchvision.datasets.ImageFolder`` + ``RandomResizedCrop`` +
  ``RandomHorizontalFlip`` + ``PILToTensor`` (uint8, like ours) in a ``DataLoader`` with
  ``--workers`` worker processes (persistent) and shuffling. Skipped with a message when torch
  or torchvision is not installed (it is not a dependency of this package).

Pipelines run alternately (ours, torch, ours, torch, ...) for ``--rounds`` rounds so both see
the same background load; each measurement starts a fresh iterator, drops its first batch
(start-up) and times the next ``--batches`` batches. Prints one JSON object (per pipeline and
size: every round's images/s and the median).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
from PIL import Image

SCALE, RATIO = (0.08, 1.0), (3 / 4, 4 / 3)


def write_jpeg_folder(root: str, count: int, *, classes: int = 10, seed: int = 0) -> None:
    """``count`` JPEGs in ``classes`` folders; each side uniform in [200, 500] px; content is a
    bilinear upsampling of 8x8 random colours plus noise (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    for c in range(classes):
        os.makedirs(os.path.join(root, f"class_{c}"), exist_ok=True)
    for i in range(count):
        h, w = (int(v) for v in rng.integers(200, 501, size=2))
        coarse = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        smooth = np.asarray(coarse.resize((w, h), Image.BILINEAR), np.int16)
        noisy = np.clip(smooth + rng.integers(-12, 13, smooth.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(os.path.join(root, f"class_{i % classes}", f"{i:05d}.jpg"),
                                    quality=90)


def _rate(iterator, batch_size: int, batches: int) -> float:
    next(iterator)  # start-up: threads / workers spin up, first reads
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def ours(root: str, size: int, batch_size: int, workers: int, processes: bool):
    """A zero-argument function measuring our loader once (a fresh iterator each call)."""
    from contrastive_jax.data.folder_source import folder_source
    from contrastive_jax.data.host_image import HostCrop
    from contrastive_jax.data.pipeline import make_train_loader

    source = folder_source(root, "train", image_size=size, held_out_fraction=0.01)
    crop = HostCrop(size=size, scales=(SCALE,), ratios=(RATIO,), flip_p=0.5)
    seeds = iter(range(10**6))

    def measure(batches: int) -> float:
        loader = make_train_loader(source, global_batch_size=batch_size, seed=next(seeds),
                                   process_index=0, process_count=1, host_crop=crop,
                                   num_threads=1 if processes else workers,
                                   num_workers=workers if processes else 0)
        iterator = iter(loader)
        rate = _rate(iterator, batch_size, batches)
        del iterator
        return rate

    return measure


_STUB_LIBRARY = []  # keeps the stub op library alive


def _import_torchvision():
    """torchvision's datasets and transforms. A torchvision whose compiled ops cannot load
    (a CUDA build on a CPU-only machine: ``operator torchvision::nms does not exist`` at
    import) gets schema-only stand-ins for the two ops its import registers fake kernels for;
    ImageFolder and the transforms never call them. Returns (datasets, transforms, stubbed)."""
    import torch

    try:
        from torchvision import datasets, transforms
        return datasets, transforms, False
    except RuntimeError as error:
        if "does not exist" not in str(error):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    library = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _STUB_LIBRARY.append(library)
    from torchvision import datasets, transforms
    return datasets, transforms, True


def torch_loader(root: str, size: int, batch_size: int, workers: int):
    """The PyTorch reference, or None when torch / torchvision are missing."""
    try:
        import torch
        datasets, transforms, _ = _import_torchvision()
    except ImportError:
        return None
    torch.set_num_threads(1)
    transform = transforms.Compose([
        transforms.RandomResizedCrop(size, scale=SCALE, ratio=RATIO),
        transforms.RandomHorizontalFlip(), transforms.PILToTensor()])
    dataset = datasets.ImageFolder(root, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                         num_workers=workers, persistent_workers=workers > 0,
                                         drop_last=True)

    def measure(batches: int) -> float:
        return _rate(iter(loader), batch_size, batches)

    return measure


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_images", type=int, default=2000)
    parser.add_argument("--sizes", default="224,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", action="store_true",
                        help="also measure our loader with grain worker processes")
    parser.add_argument("--no_torch", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.num_images, args.batches, args.rounds, args.batch_size = 200, 2, 1, 32
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict = {"num_images": args.num_images, "workers": args.workers,
                     "batch_size": args.batch_size, "batches": args.batches,
                     "cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()[0],
                     "images_per_s": {}}
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        write_jpeg_folder(root, args.num_images)
        results["write_s"] = round(time.perf_counter() - start, 1)
        for size in sizes:
            pipelines = {"ours_threads": ours(root, size, args.batch_size, args.workers, False)}
            if args.processes:
                pipelines["ours_processes"] = ours(root, size, args.batch_size, args.workers,
                                                   True)
            reference = None if args.no_torch else torch_loader(root, size, args.batch_size,
                                                                 args.workers)
            if reference is None:
                print("torch / torchvision not importable (or --no_torch): reporting ours only.",
                      file=sys.stderr)
            else:
                import torch
                import torchvision

                pipelines["torch"] = reference
                results["torch"] = f"torch {torch.__version__}, torchvision " \
                                   f"{torchvision.__version__}"
                results["torchvision_ops_stubbed"] = bool(_STUB_LIBRARY)
            rates = {name: [] for name in pipelines}
            for _ in range(args.rounds):
                for name, measure in pipelines.items():
                    rates[name].append(round(measure(args.batches), 1))
            results["images_per_s"][str(size)] = {
                name: {"median": statistics.median(r), "rounds": r} for name, r in rates.items()}
    results["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
