"""GRACE (node-level graph contrastive learning), optionally with gCooL's community-reweighted
negatives and POT's node-compactness regulariser.

Zhu et al., "Deep Graph Contrastive Representation Learning", ICML GRL+ Workshop 2020; Li, Jing,
Tong, "Graph Communal Contrastive Learning", WWW 2022; Yu et al., "Provable Training for Graph
Contrastive Learning", NeurIPS 2023.

The batch is one graph (``graph:<name>`` sources, ``batch_size=1``): ``x [1, N, F]``,
``edges [1, E, 2]``, ``edge_mask [1, E]``. Per step: two views (``augment.name="grace"``: edge
dropping and feature-column masking, ``data.augment_graph``), the GCN encoder
(``encoder.name="gcn"``) on each, GRACE's projector (``Linear - ELU - Linear``, width
``proj_hidden_dim``, back to the encoder's width) and the loss on the projections:

* ``loss="grace"``: ``losses.grace`` (intra- and inter-view negatives);
* ``loss="gcool"``: ``losses.gcool``, negatives weighted by ``exp(-gcool_gamma r_i . r_k)``
  with ``r`` the one-hot k-means (``losses.kmeans``, ``num_communities`` clusters; 0: the
  source's number of classes) of the detached, L2-normalized mean of the two views' encoder
  outputs, recomputed every step (gCooL learns its communities with DeCA instead);
* ``pot_weight = kappa > 0``: ``(1 - kappa) L + kappa (POT(view 1) + POT(view 2)) / 2`` with
  ``losses.pot`` (interval bounds through the encoder, the view's edge-drop rate as budget).

The representation for evaluation is the encoder's output on the whole graph (``embed_nodes``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import Method, build_encoder
from contrastive_jax.methods.common import embedding_std
from contrastive_jax.methods.options import MethodOptions

LOSSES = ("grace", "gcool")


@dataclasses.dataclass(frozen=True, kw_only=True)
class GraceOptions(MethodOptions):
    """``temperature`` (0.4) and ``proj_hidden_dim`` (128): GRACE's Cora setting; ``loss``:
    "grace" | "gcool"; ``gcool_gamma`` (1.0) and ``num_communities`` (0: the number of
    classes) for gCooL; ``pot_weight``: POT's kappa (0: off)."""

    temperature: float = 0.4
    proj_hidden_dim: int = 128
    loss: str = "grace"
    gcool_gamma: float = 1.0
    num_communities: int = 0
    pot_weight: float = 0.0

    def __post_init__(self):
        self.check_positive("temperature", "proj_hidden_dim")
        self.check_choice("loss", LOSSES)
        self.check("gcool_gamma", lambda v: v >= 0, ">= 0")
        self.check("num_communities", lambda v: v == 0 or v >= 2,
                   "0 (the number of classes) or >= 2")
        self.check("pot_weight", lambda v: 0 <= v <= 1, "in [0, 1]")


class GraphModel(nnx.Module):
    """The GCN encoder and GRACE's projector ``fc2(elu(fc1(h)))``."""

    def __init__(self, encoder: nnx.Module, proj_hidden_dim: int, *, rngs: nnx.Rngs):
        self.encoder = encoder
        dim = encoder.feature_dim
        self.fc1 = nnx.Linear(dim, proj_hidden_dim, rngs=rngs)
        self.fc2 = nnx.Linear(proj_hidden_dim, dim, rngs=rngs)

    def project(self, h: jax.Array) -> jax.Array:
        return self.fc2(jax.nn.elu(self.fc1(h)))


def graph_inputs(batch_or_inputs) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(x [N, F], edges [E, 2], edge_mask [E])`` of the batch's one graph."""
    x, edges, mask = (batch_or_inputs[k] for k in ("x", "edges", "edge_mask"))
    if x.ndim == 3:
        if x.shape[0] != 1:
            raise ValueError(f"a graph batch holds one graph (batch_size=1), got {x.shape[0]}.")
        x, edges, mask = x[0], edges[0], mask[0]
    return x.astype(jnp.float32), edges, mask


class GRACE(Method):
    options_type = GraceOptions
    min_views = 2

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        if not getattr(self.make_views, "graph_views", False):
            raise ValueError(f"method {self.name!r} needs graph views: set "
                             f"config.augment.name='grace'.")
        if self.batch_size != 1:
            raise ValueError(f"method {self.name!r}: the batch is the graph; set "
                             f"config.batch_size=1, got {self.batch_size}.")
        if options.loss == "gcool" and not (options.num_communities or self.num_classes):
            raise ValueError("loss='gcool' needs config.method.num_communities >= 2.")

    @property
    def num_communities(self) -> int:
        return int(self.options.num_communities or self.num_classes)

    def init(self, rng, example_batch):
        rngs = nnx.Rngs(params=rng)
        encoder = build_encoder(self.encoder_config, self.image_shape, rngs)
        return GraphModel(encoder, self.options.proj_hidden_dim, rngs=rngs), {}

    def communities(self, h1: jax.Array, h2: jax.Array) -> jax.Array:
        """One-hot k-means communities ``[N, K]`` of the detached mean of both views."""
        mean = jax.lax.stop_gradient(losses.l2_normalize(h1) + losses.l2_normalize(h2))
        _, labels = losses.kmeans(losses.l2_normalize(mean), num_clusters=self.num_communities)
        return jax.nn.one_hot(labels, self.num_communities)

    def pot_term(self, model, views, edges, h1, h2) -> jax.Array:
        layers = [(layer.linear.kernel.value, layer.bias.value)
                  for layer in model.encoder.layers]
        rates = self.make_views.drop_edge
        return 0.5 * (losses.pot(views.x1, edges, views.edge_mask1, layers, h2,
                                 drop_rate=rates[0])
                      + losses.pot(views.x2, edges, views.edge_mask2, layers, h1,
                                   drop_rate=rates[1]))

    def loss(self, model, method_state, batch, rng):
        o = self.options
        x, edges, edge_mask = graph_inputs(batch)
        views = self.make_views(rng, x, edge_mask)
        h1 = model.encoder(views.x1, edges, views.edge_mask1, train=True)
        h2 = model.encoder(views.x2, edges, views.edge_mask2, train=True)
        z1, z2 = model.project(h1), model.project(h2)
        if o.loss == "gcool":
            contrast = losses.gcool(z1, z2, self.communities(h1, h2),
                                    temperature=o.temperature, gamma=o.gcool_gamma)
        else:
            contrast = losses.grace(z1, z2, temperature=o.temperature)
        metrics = {"contrastive_loss": contrast, "embedding_std": embedding_std(h1)}
        loss = contrast
        if o.pot_weight > 0:
            pot = self.pot_term(model, views, edges, h1, h2)
            loss = (1.0 - o.pot_weight) * contrast + o.pot_weight * pot
            metrics["pot_loss"] = pot
        return loss, ({"loss": loss, **metrics}, method_state)

    def embed_nodes(self, model, inputs) -> jax.Array:
        """Node representations ``[N, D]`` of the whole graph (no views)."""
        x, edges, edge_mask = graph_inputs(inputs)
        return model.encoder(x, edges, edge_mask, train=False)

    def embed(self, model, inputs):
        return self.embed_nodes(model, inputs)
