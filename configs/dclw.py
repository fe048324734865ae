"""DCLW: DCL with the von Mises-Fisher weighted positive term (Yeh et al., 2022).

    python -m contrastive_jax.main --config=configs/dclw.py --workdir=runs/dclw
    python -m contrastive_jax.main --config=configs/dclw.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/dclw.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.sigma=1.0``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "dclw.py", learning_rate=2e-3,
        method=dict(name="dclw", temperature=0.1, sigma=0.5, proj_hidden_dim=512, proj_dim=128,
                    proj_layers=2))
