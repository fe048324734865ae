"""MoCo v3: momentum encoder, predictor and symmetric in-batch InfoNCE (Chen et al., 2021).

    python -m contrastive_jax.main --config=configs/moco_v3.py --workdir=runs/moco_v3
    python -m contrastive_jax.main --config=configs/moco_v3.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/moco_v3.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.temperature=1.0``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "moco_v3.py", learning_rate=2e-3,
        method=dict(name="moco_v3", temperature=0.2, base_momentum=0.99,
                    momentum_schedule="cosine", proj_hidden_dim=512, proj_dim=128, proj_layers=3,
                    proj_last_norm=True, pred_hidden_dim=512))
