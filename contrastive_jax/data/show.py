"""Look at augmented views: a PNG grid of original images (left column) and their views.

    python -m contrastive_jax.data.show --dataset=mnist5k --augment=simclr --out=views.png
    python -m contrastive_jax.data.show --config=configs/simclr.py --out=views.png
    python -m contrastive_jax.data.show --dataset=digits --augment=multicrop \
        --augment_kwargs='{"num_local": 4}' --out=multicrop.png

``--config`` (``path[:arg]``) takes the data set and the augmentation with its options from a
config file; ``--dataset`` / ``--augment`` / ``--augment_kwargs`` override it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import textwrap
from typing import Sequence

import numpy as np


def load_config_parts(spec: str) -> tuple[str, str, dict]:
    """``"configs/simclr.py[:arg]"`` -> (dataset name, augment name, augment options)."""
    path, _, arg = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("_show_config", path)
    if module_spec is None:
        raise FileNotFoundError(f"--config={spec}: no config file at {path!r}.")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    config = module.get_config(arg or None)
    augment = dict(config.augment)
    return config.dataset.name, augment.pop("name"), augment


def sample_views(dataset: str, augment_name: str, augment_kwargs: dict, *, num_images: int,
                 seed: int, split: str = "train") -> tuple[np.ndarray, list[np.ndarray]]:
    """``num_images`` images float [N, H, W, C] in [0, 1] and their views (list of [N, h, w, C])."""
    import jax

    from contrastive_jax.data.sources import build_source
    from contrastive_jax.registry import AUGMENTATIONS

    source = build_source(dataset, split, seed=seed)
    picks = np.random.default_rng(seed).choice(len(source), num_images, replace=False)
    images = np.stack([source[int(i)]["image"] for i in picks]).astype(np.float32) / 255.0
    views = jax.jit(AUGMENTATIONS.build(augment_name, **augment_kwargs))(
        jax.random.key(seed), images)
    return images, [np.asarray(v) for v in views]


def view_grid(images: np.ndarray, views: Sequence[np.ndarray], title: str = ""):
    """A matplotlib figure: one row per image, the original then each view."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(images), 1 + len(views)
    figure, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.4),
                                squeeze=False)
    for row in range(rows):
        for col, batch in enumerate([images, *views]):
            axis = axes[row, col]
            picture = batch[row]
            if picture.shape[-1] == 1:
                axis.imshow(picture[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            else:
                axis.imshow(np.clip(picture, 0.0, 1.0))
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                shape = "x".join(str(s) for s in picture.shape[:2])
                axis.set_title("original" if col == 0 else f"view {col} ({shape})", fontsize=7)
    if title:
        figure.suptitle(textwrap.fill(title, width=int(18 * cols)), fontsize=8)
    figure.tight_layout()
    return figure


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a PNG grid of augmented views.")
    parser.add_argument("--config", help="config file[:arg]; supplies dataset and augment")
    parser.add_argument("--dataset", help="registered data set name (default mnist5k)")
    parser.add_argument("--augment", help="registered augmentation name (default simclr)")
    parser.add_argument("--augment_kwargs", default=None, help="JSON dict of preset options")
    parser.add_argument("--split", default="train")
    parser.add_argument("--num_images", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="views.png")
    args = parser.parse_args(argv)

    dataset, augment_name, augment_kwargs = "mnist5k", "simclr", {}
    if args.config:
        dataset, augment_name, augment_kwargs = load_config_parts(args.config)
    if args.augment and args.augment != augment_name:
        augment_kwargs = {}  # options of another preset would not fit
    dataset = args.dataset or dataset
    augment_name = args.augment or augment_name
    if args.augment_kwargs:
        augment_kwargs.update(json.loads(args.augment_kwargs))

    images, views = sample_views(dataset, augment_name, augment_kwargs,
                                 num_images=args.num_images, seed=args.seed, split=args.split)
    options = ", ".join(f"{k}={v}" for k, v in sorted(augment_kwargs.items()))
    figure = view_grid(images, views, title=f"{dataset} / {augment_name}({options})")
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}: {len(images)} images x {len(views)} views")


if __name__ == "__main__":
    main()
