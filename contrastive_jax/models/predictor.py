"""The predictor of BYOL / SimSiam / MoCo v3 / NNCLR: a bottleneck MLP back to its input width.

"Bootstrap Your Own Latent", Grill et al., 2020 (Linear 256->4096 - BN - ReLU - Linear 4096->256);
"Exploring Simple Siamese Representation Learning", Chen & He, 2021 (2048->512->2048).
"""

from __future__ import annotations

from flax import nnx

from contrastive_jax.models.heads import ProjectionMLP


class PredictorMLP(ProjectionMLP):
    """Linear(dim -> hidden_dim) - BatchNorm - ReLU - Linear(hidden_dim -> dim).

    x: [B, dim] -> [B, dim]. A ``ProjectionMLP`` with two layers whose output width is its
    input width.
    """

    def __init__(self, dim: int, *, hidden_dim: int = 512, rngs: nnx.Rngs):
        super().__init__(dim, hidden_dim=hidden_dim, out_dim=dim, num_layers=2, rngs=rngs)


class LinearPredictor(nnx.Module):
    """A bias-free linear predictor ``p = W_p z``, ``W_p: [dim, dim]`` trained by gradient.

    The linear predictor of "Understanding self-supervised Learning Dynamics without Contrastive
    Pairs", Tian, Chen and Ganguli, 2021 (the baseline DirectPred replaces).
    x: [B, dim] -> [B, dim].
    """

    def __init__(self, dim: int, *, rngs: nnx.Rngs):
        self.linear = nnx.Linear(dim, dim, use_bias=False, rngs=rngs)

    def __call__(self, x, *, train: bool):
        del train  # no normalization: the same map in training and evaluation
        return self.linear(x)
