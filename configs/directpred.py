"""DirectPred: BYOL with a predictor set from the eigenbasis of its inputs (Tian et al., 2021).

    python -m contrastive_jax.main --config=configs/directpred.py --workdir=runs/directpred
    python -m contrastive_jax.main --config=configs/directpred.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/directpred.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.eps=0.01``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "directpred.py", learning_rate=1e-3, augment=common.BYOL_AUGMENT,
        method=dict(name="directpred", base_momentum=0.99, momentum_schedule="cosine",
                    proj_hidden_dim=512, proj_dim=128, proj_layers=2, rho=0.3, eps=0.1))
