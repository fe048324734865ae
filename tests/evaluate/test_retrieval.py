"""Retrieval Recall@K on known permutations and against a NumPy argsort reference."""

import numpy as np
import pytest

from contrastive_jax.evaluate import retrieval_ranks, retrieval_recall


def unit_rows(num, dim, seed):
    x = np.random.default_rng(seed).normal(size=(num, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def numpy_ranks(images, texts, image_ids):
    images = images / np.linalg.norm(images, axis=1, keepdims=True)
    texts = texts / np.linalg.norm(texts, axis=1, keepdims=True)
    similarity = images @ texts.T  # [I, T]
    i2t = []
    for i in range(len(images)):
        order = list(np.argsort(-similarity[i], kind="stable"))
        i2t.append(min(order.index(t) for t in np.flatnonzero(image_ids == i)))
    t2i = []
    for t in range(len(texts)):
        order = list(np.argsort(-similarity[:, t], kind="stable"))
        t2i.append(order.index(image_ids[t]))
    return np.array(i2t), np.array(t2i)


def test_permuted_pairs_recall_at_1_is_the_fixed_point_fraction():
    rng = np.random.default_rng(0)
    images = unit_rows(40, 64, seed=1)
    perm = np.arange(40)
    rng.shuffle(perm[10:])  # a permutation with at least 10 fixed points (0..9)
    assert sorted(perm) == list(range(40))  # one copy per image: no tied similarities
    texts = images[perm] * rng.uniform(0.5, 3.0, (40, 1))  # text i is a copy of image perm[i]
    recall = retrieval_recall(images, texts, ks=(1, 40))
    fixed = np.mean(perm == np.arange(40))
    assert 0.2 < fixed < 1.0
    assert recall["i2t_recall@1"] == pytest.approx(fixed)
    assert recall["t2i_recall@1"] == pytest.approx(fixed)
    assert recall["i2t_recall@40"] == recall["t2i_recall@40"] == 1.0


@pytest.mark.parametrize("captions_per_image", [1, 3])
def test_ranks_match_numpy_reference(captions_per_image):
    images = unit_rows(30, 8, seed=2)
    image_ids = np.repeat(np.arange(30), captions_per_image)
    texts = images[image_ids] + 0.6 * unit_rows(len(image_ids), 8, seed=3)
    i2t, t2i = retrieval_ranks(images, texts, image_ids=image_ids, batch_size=7)
    expected_i2t, expected_t2i = numpy_ranks(images, texts, image_ids)
    np.testing.assert_array_equal(i2t, expected_i2t)
    np.testing.assert_array_equal(t2i, expected_t2i)
    recall = retrieval_recall(images, texts, image_ids=image_ids, ks=(1, 5))
    assert recall["i2t_recall@5"] == pytest.approx(np.mean(expected_i2t < 5))
    assert recall["t2i_recall@1"] == pytest.approx(np.mean(expected_t2i < 1))
    assert 0 < recall["t2i_recall@1"] < 1  # noisy enough to be a real test


def test_many_captions_any_match_counts_for_image_to_text():
    images = unit_rows(5, 16, seed=4)
    image_ids = np.repeat(np.arange(5), 2)  # texts 2i, 2i+1 describe image i
    texts = images[image_ids].copy()
    texts[1] = images[3]  # image 0's second caption actually describes image 3
    recall = retrieval_recall(images, texts, image_ids=image_ids, ks=(1,))
    # Image 0 still finds its first caption; caption 1 retrieves image 3 instead of image 0.
    assert recall["i2t_recall@1"] == 1.0
    assert recall["t2i_recall@1"] == pytest.approx(9 / 10)


def test_rejects_inconsistent_inputs():
    images = unit_rows(3, 4, seed=5)
    with pytest.raises(ValueError, match="one to one"):
        retrieval_recall(images, images[:2])
    with pytest.raises(ValueError, match="at least one text"):
        retrieval_recall(images, images[:2], image_ids=np.array([0, 1]))
    with pytest.raises(ValueError, match="entries"):
        retrieval_recall(images, images, image_ids=np.array([0, 1]))
