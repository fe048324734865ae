"""SimCLR (NT-Xent) with a small convnet on the offline MNIST subset.

    python -m contrastive_jax.main --config=configs/simclr.py --workdir=runs/simclr
    python -m contrastive_jax.main --config=configs/simclr.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/simclr.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.total_steps=1000``.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "simclr.py", learning_rate=2e-3,
        method=dict(name="simclr", temperature=0.2, proj_hidden_dim=512, proj_dim=128,
                    proj_layers=2),
        total_steps=300, **{"optimizer.warmup_steps": 30, "eval.every_steps": 100},
        tiny={"batch_size": 32, "total_steps": 6, "optimizer.warmup_steps": 2,
              "eval.every_steps": 3})
