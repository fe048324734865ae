"""SupReMix: supervised contrastive regression with mixup pairs ("Mixup Your Own Pairs", Wu et
al., 2023), and its two baselines on the same data, encoder and schedule.

    python -m contrastive_jax.main --config=configs/supremix.py --workdir=runs/supremix
    python -m contrastive_jax.main --config=configs/supremix.py:dataset=tabular:diabetes \\
        --workdir=runs/supremix_diabetes
    python -m contrastive_jax.main \\
        --config=configs/supremix.py:dataset=tabular:diabetes,method=l1_regression,train_fraction=0.2 \\
        --workdir=runs/l1_diabetes_20

Arguments (``--config=configs/supremix.py:dataset=tabular:autompg,scale=tiny``):
  dataset: rotated:mnist5k (default; target: the rotation angle in degrees, [-45, 45]) |
           tabular:diabetes | tabular:autompg
  method: supremix (default) | l1_regression (encoder + linear head, L1 loss, end to end) |
          supcon_bins (SupCon with the target's decile as the class)
  train_fraction: the share of the training split kept (default 1.0; 0.2: the paper's
          fewer-samples setting)
  scale: small (default) | tiny (smoke test)
The final table is a held-out ridge probe of the frozen encoder (MAE, R^2) for the learned
encoder, the random-init encoder and the raw inputs; ``metrics.jsonl`` logs its ``probe_mae``.

Images go through the convnet with crops and colour jitter (no rotation or flip: the angle is
the target); feature vectors through an MLP, a view being the standardised vector plus
Gaussian noise (``method.feature_noise``). The targets reach the contrastive losses divided by
``method.target_unit``, chosen per data set so they span about 0..100 like the paper's ages
in years (its ``positive_window=5`` and distance weights ``1 + |dy|`` are in those units); L1
regression divides by the training targets' std after subtracting their mean.
"""

from configs import common

# dataset -> (target mean, target std, unit of the contrastive losses), from the train split
# (rotated angles: uniform on [-45, 45] degrees).
TARGETS = {
    "rotated:mnist5k": (0.0, 26.0, 1.0),
    "rotated:digits": (0.0, 26.0, 1.0),
    "tabular:diabetes": (152.0, 77.0, 4.0),
    "tabular:autompg": (23.5, 7.8, 0.5),
}
METHODS = ("supremix", "l1_regression", "supcon_bins")


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="rotated:mnist5k", method="supremix",
                            train_fraction=1.0, scale="small")
    if args.dataset not in TARGETS:
        raise ValueError(f"configs/supremix.py: dataset must be one of {', '.join(TARGETS)}, "
                         f"got {args.dataset!r}.")
    if args.method not in METHODS:
        raise ValueError(f"configs/supremix.py: method must be one of {', '.join(METHODS)}, "
                         f"got {args.method!r}.")
    mean, std, unit = TARGETS[args.dataset]
    tabular = args.dataset.startswith("tabular:")
    config = common.base_config()
    config.dataset.name = args.dataset
    config.dataset.train_fraction = float(args.train_fraction)
    config.dataset.num_bins = 10  # the classes of supcon_bins (target deciles of train)
    if not tabular:
        config.dataset.angle_range = (-45.0, 45.0)
    # SupReMix's hard positives are O(2B x (2B)^2): the released code trains at batch 64. A 20%
    # tabular training split holds only 63 (auto-mpg) or 71 (diabetes) rows, about one batch of
    # 64, so those train at batch 32.
    config.batch_size = 32 if tabular and args.train_fraction < 0.5 else 64
    config.total_steps = 400 if tabular else 600
    if tabular:
        config.augment = dict(name="none")
        config.encoder = dict(name="mlp", widths=(128, 128))
    else:
        config.augment = dict(name="simclr", crop_scale=(0.6, 1.0), flip=False,
                              jitter_strength=0.5, grayscale_p=0.0, blur_p=0.0)
        config.encoder = dict(name="convnet", widths=(16, 32, 64), num_pooled=2,
                              pool="flatten")
    config.optimizer.learning_rate = 1e-3
    noise = 0.05 if tabular else 0.0
    projector = dict(proj_hidden_dim=256, proj_dim=64, proj_layers=2)
    if args.method == "supremix":
        config.method = dict(name="supremix", temperature=0.3, positive_window=5.0,
                             distance_weight=True, negative_mix_beta=(2.0, 8.0),
                             target_unit=unit, feature_noise=noise, **projector)
    elif args.method == "supcon_bins":
        config.method = dict(name="supcon_bins", temperature=0.1, base_temperature=0.1,
                             target_unit=unit, feature_noise=noise, **projector)
    else:
        config.method = dict(name="l1_regression", target_center=mean, target_unit=std,
                             feature_noise=noise)
    if args.method != "l1_regression":
        # How the loss is computed, not what: --config.method.cross_device=all_gather shards
        # it over the mesh (all-gathered views; the mixtures need no blockwise form).
        config.method.loss_block_size = 0
        config.method.cross_device = "global"
    config.eval.ridge_l2_grid = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)
    config.eval.plot_embedding = False
    return common.at_scale(config, args.scale, "supremix.py")
