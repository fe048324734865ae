"""MCL: Multistage Contrastive Learning (Zhang et al., 2024): SimCLR trained in stages whose
negatives come only from the anchor's cluster of the earlier stages; the representation
concatenates the stages' encoders.

    python -m contrastive_jax.main --config=configs/mcl.py --workdir=runs/mcl
    python -m contrastive_jax.main --config=configs/mcl.py:scale=tiny --workdir=/tmp/t
    python -m contrastive_jax.main --config=configs/mcl.py:dataset=textured:mnist5k \
        --workdir=runs/mcl_textured    # the feature-suppression setting (digit vs texture)

Arguments (``--config=configs/mcl.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | textured:mnist5k | tfds:<name> | ...
  scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.method.stages=2``.

SimCLR's recipe (``configs/simclr.py``) for ``method.stages`` stages of ``method.stage_steps``
steps each (0: ``total_steps // stages``); between stages the training set is embedded, k-means
(``method.num_clusters``, the released code's 10) refines every example's pseudo-label, and the
finished encoder is frozen (``methods/mcl.py``, ``train/stages.py``). The final features are
``stages * feature_dim`` wide. 3 stages of 200 steps (SimCLR's small run: 600 steps in all).
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 600
    config.augment = dict(name="simclr", crop_scale=(0.4, 1.0), flip=False, jitter_strength=0.5,
                          grayscale_p=0.0, blur_p=0.0)
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2, pool="flatten")
    config.optimizer.learning_rate = 2e-3
    config.optimizer.warmup_steps = 30
    config.method = dict(name="mcl", temperature=0.2, proj_hidden_dim=512, proj_dim=128,
                         proj_layers=2, stages=3, stage_steps=0, num_clusters=10,
                         kmeans_iterations=100)
    config.eval.every_steps = 200
    return common.at_scale(config, args.scale, "mcl.py",
                           tiny={"batch_size": 32, "total_steps": 6, "optimizer.warmup_steps": 2,
                                 "eval.every_steps": 3, "method.kmeans_iterations": 10})
