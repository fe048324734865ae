"""Flax NNX encoders and heads. Built by name through ``contrastive_jax.registry.ENCODERS``.

Every encoder maps images ``[B, H, W, C]`` (float, roughly zero-centred) to features
``[B, feature_dim]`` and takes ``train: bool`` to switch BatchNorm between batch and running
statistics; ``encoder.feature_dim`` is the width of its output.
"""

from contrastive_jax.models.convnet import ConvNet
from contrastive_jax.models.heads import ProjectionMLP

__all__ = ["ConvNet", "ProjectionMLP"]
