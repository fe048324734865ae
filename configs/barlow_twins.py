"""Barlow Twins: the two views' cross-correlation driven to the identity (Zbontar et al., 2021).

    python -m contrastive_jax.main --config=configs/barlow_twins.py --workdir=runs/barlow_twins
    python -m contrastive_jax.main --config=configs/barlow_twins.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/barlow_twins.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.lambda_=0.002``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "barlow_twins.py", learning_rate=1e-3,
        method=dict(name="barlow_twins", lambda_=0.005, proj_hidden_dim=512, proj_dim=512,
                    proj_layers=3),
        tiny={"method.proj_dim": 32})
