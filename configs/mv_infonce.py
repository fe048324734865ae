"""MV-InfoNCE: one InfoNCE term per example over all V views (Koromilas et al., 2025).

    python -m contrastive_jax.main --config=configs/mv_infonce.py --workdir=runs/mv_infonce
    python -m contrastive_jax.main --config=configs/mv_infonce.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/mv_infonce.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.augment.num_views=6``; ``--config.method.aggregation=pairwise`` averages pairwise
NT-Xent terms over the same views instead (the baseline of experiments/multiview.py).
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "mv_infonce.py", learning_rate=2e-3,
        augment=dict(common.SIMCLR_AUGMENT, num_views=4),
        method=dict(name="mv_infonce", temperature=0.1, proj_hidden_dim=512, proj_dim=128,
                    proj_layers=2, aggregation="joint"),
        tiny={"augment.num_views": 3})
