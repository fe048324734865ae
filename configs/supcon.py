"""SupCon: supervised contrastive learning with the dataset's labels (Khosla et al., 2020).

    python -m contrastive_jax.main --config=configs/supcon.py --workdir=runs/supcon
    python -m contrastive_jax.main --config=configs/supcon.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/supcon.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.temperature=0.07``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "supcon.py", learning_rate=2e-3,
        method=dict(name="supcon", temperature=0.1, base_temperature=0.1, proj_hidden_dim=512,
                    proj_dim=128, proj_layers=2))
