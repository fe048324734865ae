"""SupCon on binned regression targets: each target's training-split decile is its class, the
classification recipe applied to regression, a baseline of SupReMix ("Mixup Your Own Pairs",
2023); the same data, encoder and schedule as ``configs/supremix.py``, whose arguments it
takes.

    python -m contrastive_jax.main --config=configs/supcon_bins.py:dataset=tabular:diabetes \\
        --workdir=runs/supcon_bins_diabetes

Arguments: dataset (rotated:mnist5k | tabular:diabetes | tabular:autompg), train_fraction,
scale (small | tiny); see configs/supremix.py. ``--config.dataset.num_bins`` sets the bins.
"""

from configs import common, supremix


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="rotated:mnist5k", train_fraction=1.0, scale="small")
    return supremix.get_config(f"dataset={args.dataset},method=supcon_bins,"
                               f"train_fraction={args.train_fraction},scale={args.scale}")
