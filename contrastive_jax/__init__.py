"""contrastive_jax: contrastive and self-supervised representation learning in JAX/Flax NNX."""

__version__ = "0.1.0"
