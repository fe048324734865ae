"""VICReg: variance, invariance and covariance terms on two views (Bardes et al., 2022).

    python -m contrastive_jax.main --config=configs/vicreg.py --workdir=runs/vicreg
    python -m contrastive_jax.main --config=configs/vicreg.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/vicreg.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.cov_weight=4.0``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "vicreg.py", learning_rate=1e-3,
        method=dict(name="vicreg", sim_weight=25.0, var_weight=25.0, cov_weight=1.0,
                    proj_hidden_dim=512, proj_dim=512, proj_layers=3),
        tiny={"method.proj_dim": 32})
