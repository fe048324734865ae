"""L1 regression: an encoder + linear head trained end to end on |f(x) - y|, the supervised
baseline of SupReMix ("Mixup Your Own Pairs", 2023); the same data, encoder and schedule as
``configs/supremix.py``, whose arguments it takes.

    python -m contrastive_jax.main --config=configs/l1_regression.py:dataset=tabular:diabetes \\
        --workdir=runs/l1_diabetes

Arguments: dataset (rotated:mnist5k | tabular:diabetes | tabular:autompg), train_fraction,
scale (small | tiny); see configs/supremix.py.
"""

from configs import common, supremix


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="rotated:mnist5k", train_fraction=1.0, scale="small")
    return supremix.get_config(f"dataset={args.dataset},method=l1_regression,"
                               f"train_fraction={args.train_fraction},scale={args.scale}")
