"""W-MSE: MSE between whitened embeddings of two views (Ermolov et al., 2021).

    python -m contrastive_jax.main --config=configs/wmse.py --workdir=runs/wmse
    python -m contrastive_jax.main --config=configs/wmse.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/wmse.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.proj_dim=32``.

Whitening needs batch_size > proj_dim (checked when the method is built).
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "wmse.py", learning_rate=1e-3,
        method=dict(name="wmse", eps=0.0001, proj_hidden_dim=512, proj_dim=64, proj_layers=2),
        tiny={"method.proj_dim": 4})
