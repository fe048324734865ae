"""MoCHi: MoCo v2 with synthetic hard negatives mixed in feature space (Kalantidis et al., 2020).

    python -m contrastive_jax.main --config=configs/mochi.py --workdir=runs/mochi
    python -m contrastive_jax.main --config=configs/mochi.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/mochi.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.num_hard=512``.

The paper's (N, s, s') = (1024, 1024, 128) for a 16k queue; scaled to a 1,024-key queue here.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "mochi.py", learning_rate=2e-3,
        method=dict(name="mochi", temperature=0.2, base_momentum=0.99,
                    momentum_schedule="constant", queue_size=1024, num_hard=256,
                    num_mix_negatives=256, num_mix_query=64, proj_hidden_dim=512, proj_dim=128,
                    proj_layers=2),
        tiny={"method.queue_size": 64, "method.num_hard": 16, "method.num_mix_negatives": 8,
              "method.num_mix_query": 4})
