"""DCL: SimCLR with the decoupled contrastive loss (Yeh et al., 2022) on the offline MNIST subset.

    python -m contrastive_jax.main --config=configs/dcl.py --workdir=runs/dcl
    python -m contrastive_jax.main --config=configs/dcl.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/dcl.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.temperature=0.2``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "dcl.py", learning_rate=2e-3,
        method=dict(name="dcl", temperature=0.1, proj_hidden_dim=512, proj_dim=128,
                    proj_layers=2))
