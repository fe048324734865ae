"""iSogCLR: SogCLR with individual temperatures learned from a DRO objective (Qiu et al., 2023).

    python -m contrastive_jax.main --config=configs/isogclr.py --workdir=runs/isogclr
    python -m contrastive_jax.main --config=configs/isogclr.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/isogclr.py:dataset=digits,scale=small``):
  dataset: mnist5k | digits | tfds:<name> | ...      scale: small (default) | tiny (smoke test)
Any key can be overridden with ``--config.<key>=<value>``, e.g. ``--config.method.rho=0.5``.

``configs/sogclr.py`` plus, per training example, a temperature tau_i (from 0.1, kept in
[0.05, 0.7]) and the momentum of its gradient, stepped with eta 0.01, beta 0.9 on the objective
with DRO radius rho 0.3: the official LibAUC unimodal defaults. At the end of the run the
workdir holds ``per_example.npz`` (``tau``, ``log_u``, ``tau_grad`` and ``label`` of every
training example, by position in the source) and ``summary.json``'s ``per_example`` entry: the
mean tau per class, each class's size and the correlation of tau_i with the size of example
i's class (the paper: frequent semantics get larger temperatures). Train on a long-tailed
subset to see that relation.
"""

from configs import common, sogclr


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="mnist5k", scale="small")
    config = sogclr.get_config(f"dataset={args.dataset},scale=small")
    config.method = dict(name="isogclr", temperature=0.1, gamma=0.9, rho=0.3, eta=0.01,
                         beta=0.9, tau_min=0.05, tau_max=0.7, proj_hidden_dim=512, proj_dim=128,
                         proj_layers=2)
    return common.at_scale(config, args.scale, "isogclr.py",
                           tiny={"total_steps": 4, "eval.every_steps": 2})
