"""Graphs as one example each: ``graph:sbm``, ``graph:lfr``, ``graph:karate`` (networkx).

A graph source holds **one** record (the batch is the graph, ``batch_size=1``)::

    {"x": float32 [N, F],          node features
     "edges": int32 [E_max, 2],    directed (source, target) pairs, both directions of every
                                   undirected edge; padded to a multiple of 64 rows
     "edge_mask": bool [E_max],    True for a real edge, False for padding
     "node_labels": int32 [N],     the communities / blocks / factions
     "label": int32 []}            0 (the record has no graph-level label)

``info.input_keys = ("x", "edges", "edge_mask")``, ``info.image_shape = (N, F)`` and
``info.num_classes`` the number of node classes; ``info.graph = True`` is what selects the
node-level evaluation (``train.graph_eval``). Both splits are the same graph: node
classification uses the standard random node split (``node_split``: 10% train, 10% validation,
80% test; 20 seeded draws for the probe).

Generators (all seeded by the run's ``seed``, or ``graph_seed`` when given):

* ``graph:sbm`` -- planted partition (``networkx.planted_partition_graph``): ``blocks`` equal
  blocks of ``nodes // blocks`` nodes (randomly renumbered), edge probability ``p_in`` inside
  a block and ``p_out`` across; features ``x_i = snr * mu_{y_i} + eps_i`` with block means ``mu_k ~ N(0, I_F / F)``
  scaled to unit norm and ``eps_i ~ N(0, I_F / F)``, so ``snr`` is the ratio of the mean's norm
  to the noise's expected norm (0: features carry no label information).
* ``graph:lfr`` -- ``networkx.LFR_benchmark_graph(nodes, tau1, tau2, mu, average_degree,
  min_community, max_community)`` (Lancichinetti, Fortunato, Radicchi, "Benchmark graphs for
  testing community detection algorithms", Phys. Rev. E 2008); its communities are the labels
  (numbered by their smallest node); features as for ``sbm`` (``snr``, ``feature_dim``).
  networkx fails for some parameters (the degree sequence does not converge): the error says
  which parameters to change.
* ``graph:karate`` -- Zachary's karate club (34 nodes, 78 edges); labels are the two factions
  (``club``: Mr. Hi = 0, Officer = 1); ``features="identity"`` (one-hot node ids, F = 34) or
  ``"degree"`` (one-hot degree, F = max degree + 1).
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from contrastive_jax.data.sources import SourceInfo

EDGE_PAD = 64  # the edge list is padded to a multiple of this many rows
GRAPHS = ("sbm", "lfr", "karate")


@dataclasses.dataclass(frozen=True)
class GraphInfo(SourceInfo):
    """``SourceInfo`` of a graph: ``graph=True`` marks the node-level evaluation."""

    graph: bool = True


def node_split(num_nodes: int, *, seed: int, train_fraction: float = 0.1,
               val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random node split ``(train, val, test)`` of sorted disjoint indices covering
    ``range(num_nodes)``: ``round(train_fraction * N)`` (at least 1) train nodes,
    ``round(val_fraction * N)`` (at least 1) validation nodes, the rest (80% by default) test,
    drawn by ``numpy.random.default_rng(seed).permutation``."""
    if not (0 < train_fraction < 1 and 0 < val_fraction < 1
            and train_fraction + val_fraction < 1):
        raise ValueError(f"node_split: train_fraction={train_fraction} and val_fraction="
                         f"{val_fraction} must be in (0, 1) with a sum below 1.")
    num_train = max(1, int(round(train_fraction * num_nodes)))
    num_val = max(1, int(round(val_fraction * num_nodes)))
    if num_train + num_val >= num_nodes:
        raise ValueError(f"node_split: {num_nodes} nodes are too few for a train / val / test "
                         f"split of {num_train} / {num_val} / rest.")
    order = np.random.default_rng(seed).permutation(num_nodes)
    return (np.sort(order[:num_train]), np.sort(order[num_train:num_train + num_val]),
            np.sort(order[num_train + num_val:]))


class GraphSource:
    """A one-record source holding a graph (see the module docstring for the record)."""

    def __init__(self, x: np.ndarray, edges: np.ndarray, labels: np.ndarray, *, name: str,
                 seed: int, class_names: tuple[str, ...] | None = None):
        x = np.asarray(x, np.float32)
        edges = np.asarray(edges, np.int64).reshape(-1, 2)
        labels = np.asarray(labels, np.int32)
        n = len(x)
        if x.ndim != 2 or labels.shape != (n,):
            raise ValueError(f"{name}: features must be [N, F] with labels [N], got {x.shape} "
                             f"and {labels.shape}.")
        if len(edges) and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(f"{name}: edge endpoints must be node ids in [0, {n}).")
        num_classes = int(labels.max()) + 1
        padded = -(-max(len(edges), 1) // EDGE_PAD) * EDGE_PAD
        self.edges = np.zeros((padded, 2), np.int32)
        self.edges[:len(edges)] = edges
        self.edge_mask = np.zeros((padded,), bool)
        self.edge_mask[:len(edges)] = True
        self.x, self.node_labels, self.seed = x, labels, int(seed)
        self.num_edges = len(edges)
        self.info = GraphInfo(name, (n, x.shape[1]), num_classes,
                              class_names or tuple(str(k) for k in range(num_classes)),
                              input_keys=("x", "edges", "edge_mask"))

    @property
    def num_nodes(self) -> int:
        return len(self.x)

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if index not in (0, -1):
            raise IndexError(f"{self.info.name} holds one graph; index {index} is out of range.")
        return {"x": self.x, "edges": self.edges, "edge_mask": self.edge_mask,
                "node_labels": self.node_labels, "label": np.int32(0)}

    def split(self, draw: int = 0, *, train_fraction: float = 0.1,
              val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``draw``-th random node split (seeded by the graph's seed and ``draw``)."""
        return node_split(self.num_nodes, seed=self.seed * 1_000 + int(draw),
                          train_fraction=train_fraction, val_fraction=val_fraction)

    def __repr__(self) -> str:
        return (f"GraphSource({self.info.name}, nodes={self.num_nodes}, "
                f"directed edges={self.num_edges}, features={self.x.shape[1]})")


def directed_edges(graph) -> np.ndarray:
    """Both directions of every undirected edge of a networkx graph (self loops dropped),
    ``[2|E|, 2]`` sorted by (source, target)."""
    pairs = np.array([(u, v) for u, v in graph.edges() if u != v], np.int64).reshape(-1, 2)
    both = np.concatenate([pairs, pairs[:, ::-1]])
    return both[np.lexsort((both[:, 1], both[:, 0]))]


def gaussian_features(labels: np.ndarray, *, feature_dim: int, snr: float,
                      rng: np.random.Generator) -> np.ndarray:
    """``x_i = snr * mu_{y_i} + eps_i``: unit-norm class means, noise ``N(0, I / F)``."""
    num_classes = int(labels.max()) + 1
    means = rng.standard_normal((num_classes, feature_dim))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    noise = rng.standard_normal((len(labels), feature_dim)) / np.sqrt(feature_dim)
    return (snr * means[labels] + noise).astype(np.float32)


def sbm_graph(*, blocks: int = 4, nodes: int = 400, p_in: float = 0.05, p_out: float = 0.01,
              feature_dim: int = 32, snr: float = 1.0, seed: int = 0):
    """``(features [N, F], directed edges [E, 2], labels [N])`` of a planted partition."""
    import networkx as nx

    if blocks < 2 or nodes < 2 * blocks:
        raise ValueError(f"graph:sbm needs blocks >= 2 and nodes >= 2 * blocks, got "
                         f"blocks={blocks}, nodes={nodes}.")
    if not (0 <= p_out <= 1 and 0 <= p_in <= 1):
        raise ValueError(f"graph:sbm: p_in={p_in} and p_out={p_out} must be probabilities.")
    size = nodes // blocks
    graph = nx.planted_partition_graph(blocks, size, p_in, p_out, seed=seed)
    rng = np.random.default_rng([seed, 1])
    # networkx numbers the nodes block by block; a random relabelling hides the blocks' order
    order = rng.permutation(graph.number_of_nodes())
    graph = nx.relabel_nodes(graph, dict(enumerate(order)))
    labels = np.empty(len(order), np.int32)
    labels[order] = np.repeat(np.arange(blocks), size)
    return (gaussian_features(labels, feature_dim=feature_dim, snr=snr, rng=rng),
            directed_edges(graph), labels)


def lfr_graph(*, nodes: int = 250, tau1: float = 3.0, tau2: float = 1.5, mu: float = 0.1,
              average_degree: float = 5.0, min_community: int = 20,
              max_community: int | None = None, feature_dim: int = 32, snr: float = 1.0,
              seed: int = 0):
    """``(features, directed edges, labels)`` of networkx's LFR benchmark graph."""
    import networkx as nx

    try:
        graph = nx.LFR_benchmark_graph(nodes, tau1, tau2, mu, average_degree=average_degree,
                                       min_community=min_community,
                                       max_community=max_community, seed=seed, max_iters=500)
    except Exception as error:  # networkx raises ExceededMaxIterations / NetworkXError
        raise ValueError(
            f"graph:lfr: networkx could not build an LFR graph with nodes={nodes}, tau1={tau1}, "
            f"tau2={tau2}, mu={mu}, average_degree={average_degree}, min_community="
            f"{min_community}, seed={seed} ({type(error).__name__}: {error}). Its power-law "
            f"sampling fails for some settings: try the defaults (nodes=250, tau1=3, tau2=1.5, "
            f"mu=0.1, average_degree=5, min_community=20) or another graph_seed.") from error
    communities = {frozenset(graph.nodes[v]["community"]) for v in graph}
    ordered = sorted(communities, key=min)
    labels = np.zeros(nodes, np.int32)
    for k, members in enumerate(ordered):
        labels[list(members)] = k
    rng = np.random.default_rng([seed, 1])
    return (gaussian_features(labels, feature_dim=feature_dim, snr=snr, rng=rng),
            directed_edges(graph), labels)


def karate_graph(*, features: str = "identity"):
    """``(features, directed edges, labels)`` of Zachary's karate club."""
    import networkx as nx

    graph = nx.karate_club_graph()
    labels = np.array([0 if graph.nodes[v]["club"] == "Mr. Hi" else 1 for v in graph], np.int32)
    n = graph.number_of_nodes()
    if features == "identity":
        x = np.eye(n, dtype=np.float32)
    elif features == "degree":
        degrees = np.array([d for _, d in graph.degree()])
        x = np.eye(degrees.max() + 1, dtype=np.float32)[degrees]
    else:
        raise ValueError(f"graph:karate: features={features!r}; valid: 'identity', 'degree'.")
    return x, directed_edges(graph), labels


def graph_source(kind: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                 graph_seed: int = -1, **options) -> GraphSource:
    """``graph:<kind>``: the seeded graph (``graph_seed``, or the run's ``seed`` when -1) as a
    one-record ``GraphSource``; ``split`` ("train" / "test") names the same graph."""
    del data_dir
    if split not in ("train", "test"):
        raise ValueError(f"graph:{kind}: unknown split {split!r}; valid splits: 'train', 'test'.")
    seed = int(seed if graph_seed < 0 else graph_seed)
    builders = {"sbm": sbm_graph, "lfr": lfr_graph, "karate": karate_graph}
    if kind not in builders:
        raise ValueError(f"unknown graph {kind!r}; valid: {', '.join('graph:' + g for g in GRAPHS)}.")
    valid = [p for p in inspect.signature(builders[kind]).parameters if p != "seed"]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"graph:{kind} takes no option(s) {unknown}; its options: "
                         f"{', '.join(valid)} (and graph_seed).")
    if kind != "karate":
        options = {**options, "seed": seed}
    x, edges, labels = builders[kind](**options)
    names = ("Mr. Hi", "Officer") if kind == "karate" else None
    return GraphSource(x, edges, labels, name=f"graph:{kind}", seed=seed, class_names=names)
