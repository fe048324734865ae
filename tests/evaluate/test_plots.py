"""Plots write readable PNGs."""

import numpy as np
import pytest
from matplotlib import image as mpimg
from threadpoolctl import threadpool_limits

from contrastive_jax.evaluate import plot_embedding, plot_metrics
from contrastive_jax.evaluate.plots import project_2d

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    return mpimg.imread(path)


def clusters(num, num_classes, dim=10, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, num)
    return 4 * rng.normal(size=(num_classes, dim))[labels] + rng.normal(size=(num, dim)), labels


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_plot_embedding_writes_a_png(tmp_path, method):
    features, labels = clusters(150, 5)
    with threadpool_limits(1):  # t-SNE's OpenMP threads crawl on a busy 2-core machine
        path = plot_embedding(features, labels, str(tmp_path / "sub" / f"{method}.png"),
                              method=method, max_points=80, title="test")
    pixels = read_png(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 200
    assert pixels[..., :3].std() > 0.05  # not a blank canvas


def test_plot_embedding_many_classes_and_bad_method(tmp_path):
    features, labels = clusters(300, 30)
    read_png(plot_embedding(features, labels, str(tmp_path / "many.png"), method="pca"))
    with pytest.raises(ValueError, match="method"):
        plot_embedding(features, labels, str(tmp_path / "bad.png"), method="umap")


def test_pca_projection_separates_clusters():
    features, labels = clusters(200, 2, dim=20, seed=1)
    points = project_2d(features, method="pca")
    first = points[:, 0]
    # Two well-separated clusters: the first principal component splits them.
    assert abs(first[labels == 0].mean() - first[labels == 1].mean()) > 3 * first[labels == 0].std()


def test_plot_metrics_one_panel_per_key(tmp_path):
    rows = [{"step": s, "loss": 5.0 * np.exp(-s / 300), "learning_rate": min(1.0, s / 100)}
            for s in range(0, 1000, 10)]
    rows += [{"step": s, "knn_accuracy": 0.1 + s / 2000} for s in (250, 500, 750, 999)]
    one = read_png(plot_metrics(rows, str(tmp_path / "loss.png")))
    three = read_png(plot_metrics(rows, str(tmp_path / "all.png"),
                                  keys=("loss", "learning_rate", "knn_accuracy")))
    assert three.shape[0] > 2 * one.shape[0]  # taller: three stacked panels
    read_png(plot_metrics(rows, str(tmp_path / "missing.png"), keys=("loss", "absent")))


def test_plot_metrics_draws_a_baseline_and_keeps_a_least_y_span(tmp_path, monkeypatch):
    from contrastive_jax.evaluate import plots
    figures = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.append(figure) or
                        save(figure, path))
    rows = [{"step": s, "loss": 1.0 / s} for s in range(1, 301)]
    rows += [{"step": 100, "knn_accuracy": 0.981}, {"step": 200, "knn_accuracy": 0.982}]
    read_png(plot_metrics(rows, str(tmp_path / "loss.png"), keys=("loss", "knn_accuracy"),
                          baselines={"knn_accuracy": (0.95, "random init")},
                          min_spans={"knn_accuracy": 0.05}))
    loss_axes, knn_axes = figures[0].axes
    low, high = knn_axes.get_ylim()
    # 0.95..0.982 is 3.2 points: widened to 5 (+5% margins) about the middle, kept below 1.
    assert high - low == pytest.approx(0.055) and high <= 1.0 and low < 0.95
    flat = [line for line in knn_axes.get_lines() if list(line.get_ydata()) == [0.95, 0.95]]
    assert len(flat) == 1 and flat[0].get_label().startswith("random init")
    assert len(loss_axes.get_lines()) == 1  # no baseline on other panels
