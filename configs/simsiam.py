"""SimSiam: stop-gradient and a predictor, no negatives or momentum encoder (Chen & He, 2021).

    python -m contrastive_jax.main --config=configs/simsiam.py --workdir=runs/simsiam
    python -m contrastive_jax.main --config=configs/simsiam.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/simsiam.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.pred_hidden_dim=256``; ``--config.method.predictor=none`` (or ``linear``)
for the predictor ablation.
"""

from configs import common


def get_config(arg: str | None = None):
    return common.catalog_config(
        arg, "simsiam.py", learning_rate=1e-3,
        method=dict(name="simsiam", proj_hidden_dim=512, proj_dim=512, proj_layers=3,
                    proj_last_norm=True, pred_hidden_dim=128, predictor="mlp"),
        tiny={"method.proj_dim": 32, "method.pred_hidden_dim": 8})
