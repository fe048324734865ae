"""Install contrastive_jax: `pip install -e ".[dev]"`."""
from setuptools import find_packages, setup

setup(
    name="contrastive_jax",
    version="0.1.0",
    description="Contrastive and self-supervised representation learning in JAX/Flax NNX.",
    python_requires=">=3.10",
    packages=find_packages(include=["contrastive_jax", "contrastive_jax.*"]),
    install_requires=[
        "jax>=0.6",
        # ml_dtypes 0.7.0 spends 0.65 s in its extension's import (0.6.0: under 0.01 s; measured
        # in benchmarks/README.md, compile_cache), which every process pays through jax.
        "ml_dtypes>=0.5,<0.7",
        "flax>=0.10",
        "optax>=0.2.4",
        "orbax-checkpoint>=0.11",
        "tensorflow-datasets>=4.9.7",
        "array_record>=0.7",
        "grain>=0.2.10",
        "ml_collections>=1.0",
        "absl-py>=2.0",
        "numpy>=1.26",
        "scikit-learn>=1.4",
        "scikit-image>=0.22",  # bundled textures of data.textured (textured:<source>)
        "mlxtend>=0.23",
        "tqdm>=4.66",
        "matplotlib>=3.8",
        "tensorboardX>=2.6",
        "tokenizers>=0.15",
        "aeon>=1.0",  # UCR/UEA time-series archives (data.ucr, ucr:<Name>)
        "networkx>=3.0",  # graph:sbm / graph:lfr / graph:karate (data.graphs)
    ],
    extras_require={
        "dev": ["pytest>=8", "pytest-xdist>=3.5", "chex>=0.1.87", "nbclient>=0.10",
                "nbformat>=5.10", "ipykernel>=6", "nbconvert>=7", "jupyter>=1.0",
                "tensorboard>=2.15",
                # TFDS builds some image-text sets (laion400m, coco_captions) with TensorFlow;
                # the tests mock LAION through it.
                "tensorflow-cpu>=2.16"],
    },
)
