"""Representation diagnostics against closed forms and NumPy references."""

import numpy as np
import pytest

from contrastive_jax.evaluate import (
    alignment, per_dimension_std, rankme, representation_diagnostics, uniformity)


def test_alignment_closed_forms():
    z = np.random.default_rng(0).normal(size=(32, 8))
    assert float(alignment(z, z)) == pytest.approx(0.0, abs=1e-6)
    assert float(alignment(z, 5.0 * z)) == pytest.approx(0.0, abs=1e-6)  # normalized inside
    assert float(alignment(z, -z)) == pytest.approx(4.0, abs=1e-5)  # ||2u||^2
    assert float(alignment(z, -z, alpha=1)) == pytest.approx(2.0, abs=1e-5)
    orthogonal = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    assert float(alignment(*orthogonal)) == pytest.approx(2.0, abs=1e-6)


def test_uniformity_closed_forms_and_reference():
    antipodal = np.array([[1.0, 0.0], [-3.0, 0.0]])
    assert float(uniformity(antipodal)) == pytest.approx(-8.0, abs=1e-5)  # -t * 4, t=2
    assert float(uniformity(antipodal, t=1)) == pytest.approx(-4.0, abs=1e-5)
    angles = 2 * np.pi * np.arange(3) / 3  # equilateral triangle: squared distance 3
    triangle = np.stack([np.cos(angles), np.sin(angles)], 1)
    assert float(uniformity(triangle)) == pytest.approx(-6.0, abs=1e-5)
    assert float(uniformity(np.ones((10, 4)))) == pytest.approx(0.0, abs=1e-6)  # collapsed
    z = np.random.default_rng(1).normal(size=(50, 6))
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    i, j = np.triu_indices(50, k=1)
    expected = np.log(np.mean(np.exp(-2 * np.sum((u[i] - u[j]) ** 2, axis=1))))
    assert float(uniformity(z)) == pytest.approx(expected, abs=1e-5)


def test_rankme_collapsed_full_rank_and_reference():
    rng = np.random.default_rng(2)
    collapsed = np.outer(rng.normal(size=100), rng.normal(size=16))  # rank one
    assert float(rankme(collapsed)) == pytest.approx(1.0, abs=1e-3)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert float(rankme(3.0 * q)) == pytest.approx(16.0, rel=1e-3)
    z = rng.normal(size=(64, 16)) * np.linspace(0.1, 3.0, 16)  # anisotropic
    sigma = np.linalg.svd(z, compute_uv=False)
    p = sigma / sigma.sum() + 1e-7
    expected = np.exp(-np.sum(p * np.log(p)))
    assert float(rankme(z)) == pytest.approx(expected, rel=1e-4)
    assert 1.0 < expected < 15.0


def test_per_dimension_std_collapsed_and_isotropic():
    dim = 10
    collapsed = np.tile([[3.0, -1.0, 2.0]], (20, 1))
    np.testing.assert_allclose(np.asarray(per_dimension_std(collapsed)), 0.0, atol=1e-6)
    # Rows +-e_k: each coordinate is +-1 on 2 of 2*dim rows -> std exactly 1/sqrt(dim).
    z = np.concatenate([np.eye(dim), -np.eye(dim)]) * 7.0
    np.testing.assert_allclose(np.asarray(per_dimension_std(z)), 1 / np.sqrt(dim), rtol=1e-5)
    gaussian = np.random.default_rng(3).normal(size=(20000, dim))
    assert float(np.mean(per_dimension_std(gaussian))) == pytest.approx(1 / np.sqrt(dim), rel=0.02)


def test_representation_diagnostics_collects_everything():
    rng = np.random.default_rng(4)
    z1 = rng.normal(size=(200, 8))
    z2 = z1 + 0.1 * rng.normal(size=(200, 8))
    result = representation_diagnostics(z1, z2)
    assert set(result) == {"rankme", "uniformity", "embedding_std", "embedding_std_ratio",
                           "alignment"}
    assert result["rankme"] == pytest.approx(float(rankme(z1)))
    assert result["alignment"] == pytest.approx(float(alignment(z1, z2)))
    assert result["embedding_std_ratio"] == pytest.approx(1.0, abs=0.1)
    collapsed = representation_diagnostics(np.tile(z1[:1], (200, 1)))
    assert "alignment" not in collapsed
    assert collapsed["embedding_std"] == pytest.approx(0.0, abs=1e-6)
    assert collapsed["rankme"] == pytest.approx(1.0, abs=1e-3)
    assert collapsed["uniformity"] == pytest.approx(0.0, abs=1e-6)
