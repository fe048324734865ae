"""GRACE on a graph (node-level contrast of two edge-dropped, feature-masked views), optionally
with gCooL's community-reweighted negatives and POT's compactness regulariser; evaluated by the
node probe over 20 random 10/10/80 splits and k-means NMI / ARI.

    python -m contrastive_jax.main --config=configs/grace.py --workdir=runs/grace_sbm
    python -m contrastive_jax.main --config=configs/grace.py:loss=gcool --workdir=runs/gcool_sbm
    python -m contrastive_jax.main --config=configs/grace.py:pot_weight=0.3 --workdir=runs/pot
    python -m contrastive_jax.main --config=configs/grace.py:dataset=graph:karate --workdir=runs/k
    python -m contrastive_jax.main --config=configs/grace.py:scale=tiny --workdir=/tmp/g

Arguments (``--config=configs/grace.py:dataset=graph:lfr,scale=tiny``):
  dataset: graph:sbm (default) | graph:lfr | graph:karate. The generator's options are
    ``config.dataset.*`` (e.g. ``--config.dataset.snr=0.5``; see ``data/graphs.py``).
  scale: small (default: a 400-node, 4-block SBM, 300 steps) | tiny (smoke test: 64 nodes, a
    16-wide encoder, 3 steps, 2 split draws).
  loss: grace (default) | gcool.
  pot_weight: POT's kappa, 0 (default: off) .. 1.

The batch is the whole graph (``batch_size=1``), so a run uses one device (with several
visible, the command stops and says so).

GRACE's setting (Zhu et al., "Deep Graph Contrastive Representation Learning", 2020; the
released ``config.yaml`` for Cora): a 2-layer GCN (hidden 2 x 128, output 128, ReLU), the
projector 128 -> 128 -> 128 with ELU, tau = 0.4, edge-drop rates 0.2 / 0.4, feature-mask
rates 0.3 / 0.4, Adam at 5e-4 with weight decay 1e-5, 200 epochs (one step per epoch: the
batch is the whole graph). The SBM default is a medium-difficulty graph (see
``experiments/graph_sbm.py``): features alone separate the blocks imperfectly.
"""

import ml_collections

from configs import common

# Medium difficulty: the raw features alone give a ~67% node probe (snr 1.0 gives ~99%).
SBM = dict(blocks=4, nodes=400, p_in=0.05, p_out=0.01, feature_dim=32, snr=0.4)


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="graph:sbm", scale="small", loss="grace",
                            pot_weight=0.0)
    config = common.base_config()
    dataset = dict(name=args.dataset, data_dir="", download=False)
    if args.dataset == "graph:sbm":
        dataset.update(SBM)
    elif not args.dataset.startswith("graph:"):
        raise ValueError(f"configs/grace.py trains on graph:<name> sets (graph:sbm, graph:lfr, "
                         f"graph:karate), got {args.dataset!r}.")
    config.dataset = ml_collections.ConfigDict(dataset)
    config.batch_size = 1  # the batch is the graph
    config.total_steps = 300
    config.augment = ml_collections.ConfigDict(dict(name="grace", drop_edge=(0.2, 0.4),
                                                    drop_feature=(0.3, 0.4)))
    config.encoder = ml_collections.ConfigDict(dict(name="gcn", output_dim=128,
                                                    activation="relu"))
    config.method = ml_collections.ConfigDict(dict(
        name="grace", temperature=0.4, proj_hidden_dim=128, loss=args.loss, gcool_gamma=1.0,
        num_communities=0, pot_weight=float(args.pot_weight)))
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adamw", learning_rate=5e-4, weight_decay=1e-5, warmup_steps=0,
        final_lr_fraction=1.0, grad_clip_norm=0.0, decay_all=True))
    config.eval.update(dict(every_steps=100, node_probe_draws=20, plot_embedding=True,
                            probe_l2_grid=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), probe_max_iter=200))
    config.checkpoint.every_steps = 100
    config.log_every_steps = 10
    if args.scale == "tiny":
        if args.dataset == "graph:sbm":
            config.dataset.update(dict(nodes=64, blocks=2, p_in=0.2, p_out=0.02))
        config.encoder.output_dim = 16
        config.method.proj_hidden_dim = 16
        config.total_steps = 3
        config.eval.update(dict(every_steps=3, node_probe_draws=2, probe_l2_grid=(1e-2, 1.0)))
        config.checkpoint.every_steps = 3
        config.log_every_steps = 1
    elif args.scale != "small":
        raise ValueError(f"configs/grace.py: unknown scale {args.scale!r} (small | tiny).")
    return config
