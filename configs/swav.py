"""SwAV: swapped prediction of Sinkhorn cluster codes over multi-crop views (Caron et al., 2020).

    python -m contrastive_jax.main --config=configs/swav.py --workdir=runs/swav
    python -m contrastive_jax.main --config=configs/swav.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/swav.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g.
``--config.method.num_prototypes=300``.

Two 28x28 global crops and four 12x12 local crops (SwAV's 96/224 ratio). ``queue_size`` > 0
(a multiple of the batch) adds past embeddings to Sinkhorn once the queue is full.
"""

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.batch_size = 256
    config.total_steps = 600
    config.augment = dict(name="multicrop", num_global=2, num_local=4, global_scale=(0.4, 1.0),
                          local_scale=(0.1, 0.4), flip=False, jitter=(0.4, 0.4, 0.0, 0.0),
                          grayscale_p=0.0, blur_p=0.0)
    # Global average pooling: the local crops are smaller than the global ones (12x12 on MNIST,
    # 3x3 on 8x8 digits, hence a single 2x2 max-pool).
    config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=1, pool="mean")
    config.optimizer.learning_rate = 2e-3
    config.method = dict(name="swav", temperature=0.1, epsilon=0.05, sinkhorn_iterations=3,
                         num_prototypes=100, crops_for_assign=(0, 1), queue_size=0,
                         freeze_prototypes_steps=20, proj_hidden_dim=512, proj_dim=128,
                         proj_layers=2)
    return common.at_scale(config, args.scale, "swav.py",
                           tiny={"method.num_prototypes": 8, "method.queue_size": 32,
                                 "method.freeze_prototypes_steps": 1, "augment.num_local": 2})
