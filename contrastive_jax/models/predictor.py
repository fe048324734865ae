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
