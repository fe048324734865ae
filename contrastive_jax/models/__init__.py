"""Flax NNX encoders and heads. Built by name through ``contrastive_jax.registry.ENCODERS``.

Every image encoder maps images ``[B, H, W, C]`` (float, roughly zero-centred) to features
``[B, feature_dim]`` and takes ``train: bool`` to switch BatchNorm between batch and running
statistics; ``encoder.feature_dim`` is the width of its output. The text encoder maps int
tokens ``[B, L]`` to ``[B, feature_dim]`` the same way.
"""

from contrastive_jax.models.convnet import ConvNet
from contrastive_jax.models.heads import ProjectionMLP
from contrastive_jax.models.mlp import MLPEncoder
from contrastive_jax.models.predictor import LinearPredictor, PredictorMLP
from contrastive_jax.models.prototypes import Prototypes
from contrastive_jax.models.resnet import ResNet, resnet18, resnet50
from contrastive_jax.models.text import TextTransformer
from contrastive_jax.models.vit import ViT, vit_b, vit_s, vit_ti

__all__ = ["ConvNet", "LinearPredictor", "MLPEncoder", "PredictorMLP", "ProjectionMLP",
           "Prototypes", "ResNet", "TextTransformer", "ViT", "resnet18", "resnet50", "vit_b", "vit_s", "vit_ti"]
