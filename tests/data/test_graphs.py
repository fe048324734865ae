"""Graph sources: shapes, determinism, labels, edges, the node splits, and clear failures."""

import networkx as nx
import numpy as np
import pytest

from contrastive_jax.data import build_source
from contrastive_jax.data.graphs import EDGE_PAD, graph_source, node_split


def _record(source):
    r = source[0]
    n, f = source.info.image_shape
    assert len(source) == 1 and source.info.input_keys == ("x", "edges", "edge_mask")
    assert r["x"].shape == (n, f) and r["x"].dtype == np.float32
    assert r["edges"].shape[1] == 2 and r["edges"].dtype == np.int32
    assert r["edges"].shape[0] % EDGE_PAD == 0 and r["edge_mask"].shape == r["edges"].shape[:1]
    assert r["node_labels"].shape == (n,) and r["node_labels"].dtype == np.int32
    return r


def _edge_set(r):
    return {tuple(e) for e in r["edges"][r["edge_mask"]]}


def test_sbm_shapes_labels_symmetry_and_block_structure():
    source = build_source("graph:sbm", "train", seed=3, blocks=4, nodes=200, p_in=0.2,
                          p_out=0.01, feature_dim=8, snr=2.0)
    r = _record(source)
    assert source.info.image_shape == (200, 8) and source.info.num_classes == 4
    assert np.bincount(r["node_labels"]).tolist() == [50] * 4
    edges = _edge_set(r)
    assert len(edges) == source.num_edges == r["edge_mask"].sum()
    assert all((t, s) in edges for s, t in edges) and all(s != t for s, t in edges)
    assert not r["edge_mask"][source.num_edges:].any()
    labels = r["node_labels"]
    inside = np.mean([labels[s] == labels[t] for s, t in edges])
    assert inside > 0.8  # expected 50*0.2 / (50*0.2 + 150*0.01) = 0.87
    # the blocks are not numbered in node order (the k-means init of gCooL reads rows)
    assert not np.array_equal(labels, np.sort(labels))
    # snr=2: the class means dominate the noise: nearest class mean recovers most labels
    means = np.stack([r["x"][labels == k].mean(0) for k in range(4)])
    nearest = np.argmin(((r["x"][:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == labels) > 0.9


def test_sbm_is_seeded():
    a = graph_source("sbm", "train", seed=1, nodes=80)[0]
    b = graph_source("sbm", "test", seed=1, nodes=80)[0]
    c = graph_source("sbm", "train", seed=2, nodes=80)[0]
    d = graph_source("sbm", "train", seed=2, graph_seed=1, nodes=80)[0]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], d[key])
    assert not np.array_equal(a["x"], c["x"])


def test_sbm_zero_snr_features_carry_no_class_mean():
    r = graph_source("sbm", "train", seed=0, nodes=2000, blocks=2, snr=0.0, feature_dim=4)[0]
    gap = r["x"][r["node_labels"] == 0].mean(0) - r["x"][r["node_labels"] == 1].mean(0)
    assert np.linalg.norm(gap) < 0.1  # noise std per coordinate 0.5 over 1000 nodes: ~0.03


def test_lfr_labels_are_its_communities():
    source = graph_source("lfr", "train", seed=0)
    r = _record(source)
    graph = nx.LFR_benchmark_graph(250, 3.0, 1.5, 0.1, average_degree=5.0, min_community=20,
                                   seed=0, max_iters=500)
    labels = r["node_labels"]
    for v in graph:
        members = graph.nodes[v]["community"]
        assert all(labels[u] == labels[v] for u in members)
    assert source.info.num_classes == len({frozenset(graph.nodes[v]["community"]) for v in graph})
    assert _edge_set(r) == {(u, v) for u, v in graph.edges() if u != v} | {
        (v, u) for u, v in graph.edges() if u != v}


def test_lfr_failure_is_a_clear_error():
    with pytest.raises(ValueError, match="graph:lfr: networkx could not build"):
        graph_source("lfr", "train", tau1=1.0)  # networkx needs tau1 > 1


def test_karate_factions_and_features():
    source = graph_source("karate", "train")
    r = _record(source)
    graph = nx.karate_club_graph()
    assert source.info.image_shape == (34, 34) and source.num_edges == 2 * 78
    np.testing.assert_array_equal(r["x"], np.eye(34))
    assert r["node_labels"].tolist() == [int(graph.nodes[v]["club"] != "Mr. Hi") for v in graph]
    assert source.info.class_names == ("Mr. Hi", "Officer")
    degree = graph_source("karate", "train", features="degree")[0]["x"]
    np.testing.assert_array_equal(degree.argmax(1), [d for _, d in graph.degree()])
    with pytest.raises(ValueError, match="valid: 'identity', 'degree'"):
        graph_source("karate", "train", features="pagerank")


def test_bad_names_and_options_fail_clearly():
    with pytest.raises(ValueError, match="graph:sbm, graph:lfr, graph:karate"):
        graph_source("cora", "train")
    with pytest.raises(ValueError, match="blocks"):
        build_source("graph:sbm", "train", colours=3)
    with pytest.raises(ValueError, match="nodes >= 2 \\* blocks"):
        graph_source("sbm", "train", blocks=5, nodes=6)


def test_node_splits_are_disjoint_cover_and_seeded():
    train, val, test = node_split(1000, seed=4)
    assert (len(train), len(val), len(test)) == (100, 100, 800)
    together = np.concatenate([train, val, test])
    assert len(np.unique(together)) == 1000 and together.min() == 0 and together.max() == 999
    again = node_split(1000, seed=4)
    for a, b in zip((train, val, test), again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(node_split(1000, seed=5)[0], train)
    source = graph_source("sbm", "train", seed=0, nodes=80)
    draws = [source.split(d) for d in range(3)]
    assert not np.array_equal(draws[0][0], draws[1][0])
    assert all(len(np.intersect1d(a, b)) == 0 for t in draws for a, b in
               ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))
    with pytest.raises(ValueError, match="too few"):
        node_split(2, seed=0)
