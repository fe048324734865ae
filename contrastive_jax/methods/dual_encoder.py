"""Dual-encoder dense retrieval (DPR): queries and documents embedded by a text encoder, trained
to pick each query's document among the batch's documents and mined hard negatives.

Papers: "Dense Passage Retrieval for Open-Domain Question Answering", Karpukhin et al., 2020
(in-batch negatives, one shared or two encoders); "Approximate Nearest Neighbor Negative
Contrastive Learning for Dense Text Retrieval", Xiong et al., 2021 (ANCE: hard negatives
mined from an index built with an earlier checkpoint, refreshed during training);
"Optimizing Dense Retrieval Model Training with Hard Negatives", Zhan et al., 2021 (STAR:
hard negatives plus random in-batch negatives, two loss terms); "Optimizing What Matters:
AUC-Driven Learning for Robust Neural Retrieval", Sheikholeslami et al., 2025 (the MW loss).

Data: a query/document source (``codesearch:stdlib``, ``text:<pairs.jsonl>``) whose batches
carry ``"query": int32 [B, Lq]``, ``"document": int32 [B, Ld]`` and ``"index"`` (the pair id).
The encoder is ``config.encoder`` (``text_transformer``), built with ``max_len = max(Lq, Ld)``;
``shared=False`` gives documents their own encoder. ``embed_dim > 0`` adds a linear projection
(one per tower) after the encoder; 0 uses the encoder's features. Scores are cosines over a
fixed ``temperature``.

Losses (``loss``):

* ``infonce``: ``losses.dense_retrieval_info_nce`` over the global batch (``symmetric``: plus the
  document -> query direction, CLIP's loss);
* ``mw_auc``: ``losses.mw_auc`` on the scores ``s / t``: every positive (the diagonal) against
  every negative (the off-diagonal and the hard negatives), pooled over the batch.

Hard negatives (``hard_negatives = k > 0``): every ``mine_every`` steps the training loop calls
``refresh_state`` (before that step, with the current parameters, i.e. the checkpoint of the
previous step): all training queries and documents are embedded in eval mode and each query's
``k`` most similar documents, its own excluded, become its negatives (``mine_hard_negatives``).
The method state holds them (``negatives``: int32 [N, k], -1 before the first mining) and the
training documents' tokens (``documents``: int32 [N, Ld]), so the step reads the batch's
negatives by ``index`` and a resumed run continues with the same ones (they are checkpointed).
Until the first mining (step ``mine_every``) the loss has in-batch negatives only. Without
``star`` the batch's ``B k`` negatives join every query's candidates (a mined negative that is
the query's own document, mined for another query, is masked); with ``star=True`` the loss is
STAR's sum of the in-batch (random-negative) loss and ``losses.star_hard_negative_loss`` over
each query's own hard negatives.

Unsupervised pretraining (``pretrain = "simcse" | "esimcse" | "contriever"``, ``pretrain_steps =
P >= 1``): for the first P steps the loss is that method's unsupervised objective
(``methods.sentence.SimCSE``, ``methods.sentence_queue.ESimCSE`` / ``Contriever``, called, not
copied) on the batch's 2B texts alone: queries and documents become independent texts ``[2B,
max(Lq, Ld)]`` (the shorter side padded with 0), the pairs are ignored; from step P on the loss
above. The phase is chosen by ``lax.cond`` on a step counter in the method state
(``state["step"]``, so a resumed run continues in the right phase), and only the chosen branch
runs. The sentence method sees ``model.pretrain_model``, a ``SentenceModel`` around the same
``encoder`` (shared parameters) with its training-only head (SimCSE / ESimCSE ``dense_tanh``;
Contriever none); its state (momentum parameters, queue, pointer) is ``state["pretrain"]`` and
is left unchanged after the pretraining phase. Options: ``pretrain_temperature`` (0.05),
``pretrain_queue_size`` (0: the method's default, at least 2B) and ``pretrain_momentum`` (-1:
the method's default); the other options are the sentence method's defaults. Metrics:
``pretraining`` (1 during the unsupervised phase); a phase's other metrics read 0 in the other
phase.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from contrastive_jax import losses
from contrastive_jax.methods.base import Method, build_encoder
from contrastive_jax.methods.options import MethodOptions, options_from_config
from contrastive_jax.methods.sentence import SentenceModel, SimCSE
from contrastive_jax.methods.sentence_queue import Contriever, ESimCSE

LOSSES = ("infonce", "mw_auc")
PRETRAIN = ("", "simcse", "esimcse", "contriever")
PAIR_KEYS = ("query", "document")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DualEncoderOptions(MethodOptions):
    """shared (one encoder for both sides, DPR's default is two; True here: 5k pairs),
    embed_dim (0: no projection), temperature (0.05), symmetric (add document -> query),
    loss (``infonce`` | ``mw_auc``), hard_negatives (k mined per query, 0: none), mine_every
    (steps between minings), star (STAR's two-term loss with the hard negatives)."""

    shared: bool = True
    embed_dim: int = 0
    temperature: float = 0.05
    symmetric: bool = True
    loss: str = "infonce"
    hard_negatives: int = 0
    mine_every: int = 200
    star: bool = False
    pretrain: str = ""
    pretrain_steps: int = 0
    pretrain_temperature: float = 0.05
    pretrain_queue_size: int = 0
    pretrain_momentum: float = -1.0

    def __post_init__(self):
        self.check_at_least(0, "embed_dim", "hard_negatives", "pretrain_steps",
                            "pretrain_queue_size")
        self.check_choice("pretrain", PRETRAIN)
        self.check_positive("pretrain_temperature")
        self.check("pretrain_momentum", lambda v: v == -1.0 or 0.0 <= v <= 1.0,
                   "an EMA momentum in [0, 1] (or -1: the method's default)")
        if bool(self.pretrain) != bool(self.pretrain_steps):
            raise ValueError(f"config.method.pretrain={self.pretrain!r} with pretrain_steps="
                             f"{self.pretrain_steps}: set both (a method and >= 1 steps) or "
                             f"neither.")
        self.check_at_least(1, "mine_every")
        self.check_positive("temperature")
        self.check_choice("loss", LOSSES)
        if self.star and not self.hard_negatives:
            raise ValueError("config.method.star=True mixes random and hard negatives: set "
                             "config.method.hard_negatives >= 1 too.")


class DualEncoderModel(nnx.Module):
    """``encoder`` (queries, and documents when shared), ``document_encoder`` (or None) and
    the optional projections."""

    def __init__(self, encoder, document_encoder, *, embed_dim: int, rngs: nnx.Rngs,
                 pretrain_head: str | None = None):
        self.encoder = encoder
        # The unsupervised phase's view of the same encoder (shared parameters) and its head.
        self.pretrain_model = (None if pretrain_head is None
                               else SentenceModel(encoder, head=pretrain_head, rngs=rngs))
        self.document_encoder = document_encoder
        width = encoder.feature_dim
        self.query_projection = (nnx.Linear(width, embed_dim, use_bias=False, rngs=rngs)
                                 if embed_dim else None)
        self.document_projection = (nnx.Linear(width, embed_dim, use_bias=False, rngs=rngs)
                                    if embed_dim and document_encoder is not None else None)

    def embed_query(self, tokens, *, train: bool, dropout_rng=None) -> jax.Array:
        """tokens: int [B, Lq] -> [B, D] (not normalized)."""
        x = self.encoder(tokens, train=train, dropout_rng=dropout_rng)
        return x if self.query_projection is None else self.query_projection(x)

    def embed_document(self, tokens, *, train: bool, dropout_rng=None) -> jax.Array:
        """tokens: int [B, Ld] -> [B, D] (not normalized)."""
        if self.document_encoder is None:
            return self.embed_query(tokens, train=train, dropout_rng=dropout_rng)
        x = self.document_encoder(tokens, train=train, dropout_rng=dropout_rng)
        return x if self.document_projection is None else self.document_projection(x)


def mine_hard_negatives(queries: np.ndarray, documents: np.ndarray, k: int, *,
                        chunk: int = 1024) -> np.ndarray:
    """int32 [N, k]: for each query ``i`` the ``k`` documents of highest cosine similarity,
    document ``i`` (its own) excluded, most similar first (ties: lower index first).
    queries, documents: [N, D] (document ``i`` is query ``i``'s)."""
    q = np.asarray(queries, np.float32)
    d = np.asarray(documents, np.float32)
    if q.shape[0] != d.shape[0]:
        raise ValueError(f"{q.shape[0]} queries for {d.shape[0]} documents.")
    if not 1 <= k < len(d):
        raise ValueError(f"hard_negatives={k} must be in [1, {len(d) - 1}] for {len(d)} "
                         f"training documents.")
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    out = np.empty((len(q), k), np.int32)
    for start in range(0, len(q), chunk):
        scores = q[start:start + chunk] @ d.T
        rows = np.arange(scores.shape[0])
        scores[rows, start + rows] = -np.inf
        out[start:start + chunk] = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return out


class DualEncoder(Method):
    """Options: ``DualEncoderOptions``. Needs a query/document source (``PAIR_KEYS``)."""

    options_type = DualEncoderOptions

    def __init__(self, options, **kwargs):
        super().__init__(options, **kwargs)
        if options.hard_negatives and not self.num_examples:
            raise ValueError(f"method {self.name!r} with hard_negatives needs the training set "
                             f"size (train.build.build_method passes num_examples).")
        self.pretrainer = self._pretrainer(options, kwargs) if options.pretrain else None

    def _pretrainer(self, options, kwargs):
        """The sentence method of the unsupervised phase, for a batch of 2B texts."""
        method = PRETRAINERS[options.pretrain]
        values = {"temperature": options.pretrain_temperature}
        if options.pretrain_queue_size:
            values["queue_size"] = options.pretrain_queue_size
        if options.pretrain_momentum != -1.0:
            values["momentum"] = options.pretrain_momentum
        fields = {f.name for f in dataclasses.fields(method.options_type)}
        unused = sorted(k for k in values if k not in fields and k != "temperature")
        if unused:
            raise ValueError(f"config.method.pretrain_{unused[0]} has no meaning for pretrain="
                             f"{options.pretrain!r}: remove it.")
        inner = options_from_config(method.options_type, values, options.pretrain)
        return method(inner, **{**kwargs, "batch_size": 2 * int(kwargs["batch_size"]),
                                "name": options.pretrain})

    def init(self, rng, example_batch):
        missing = [k for k in PAIR_KEYS if k not in example_batch]
        if missing:
            raise ValueError(f"method {self.name!r} needs batches with 'query' and 'document' "
                             f"tokens (a query/document source such as codesearch:stdlib or "
                             f"text:<pairs.jsonl>); the batches have {sorted(example_batch)}.")
        lengths = [example_batch[k].shape[-1] for k in PAIR_KEYS]
        rngs = nnx.Rngs(params=rng)
        in_shape = (max(lengths),)
        encoder = build_encoder(self.encoder_config, in_shape, rngs)
        document_encoder = (None if self.options.shared
                            else build_encoder(self.encoder_config, in_shape, rngs))
        head = self.pretrainer.options.head if self.pretrainer else None
        model = DualEncoderModel(encoder, document_encoder, embed_dim=self.options.embed_dim,
                                 rngs=rngs, pretrain_head=head)
        state = {}
        k = self.options.hard_negatives
        if k:
            state = {"negatives": jnp.full((self.num_examples, k), -1, jnp.int32),
                     "documents": jnp.zeros((self.num_examples, lengths[1]), jnp.int32)}
        if self.pretrainer:
            state["step"] = jnp.zeros((), jnp.int32)
            state["pretrain"] = self.pretrainer.initial_state(
                model.pretrain_model, jax.random.fold_in(rng, 1))
        return model, state

    # --- the refresh hook the loop calls (hard-negative mining) ---

    def refresh_due(self, step: int) -> bool:
        """Mine before step ``step + 1`` (``step`` steps done) when this is true."""
        every = self.options.mine_every
        return bool(self.options.hard_negatives) and step > 0 and step % every == 0

    def refresh_state(self, method_state, embed_split, train_source):
        """The state with freshly mined negatives. ``embed_split(method_fn, input_key)`` ->
        NumPy [N, D]: the training split embedded by the current model in eval mode."""
        ids = mine_hard_negatives(embed_split("embed_query", "query"),
                                  embed_split("embed_document", "document"),
                                  self.options.hard_negatives)
        tokens = getattr(train_source, "tokens", {}).get("document")
        if tokens is None:
            tokens = np.stack([train_source[i]["document"] for i in range(len(train_source))])
        return {**method_state, "negatives": jnp.asarray(ids),
                "documents": jnp.asarray(tokens, jnp.int32)}

    # --- the loss ---

    def loss(self, model, method_state, batch, rng):
        if not self.pretrainer:
            return self.supervised_loss(model, method_state, batch, rng)
        step = method_state["step"]
        rest = {k: v for k, v in method_state.items() if k not in ("step", "pretrain")}
        inner = method_state["pretrain"]

        def pretraining(_):
            loss, (metrics, new_inner) = self.pretrain_loss(model, inner, batch, rng)
            return loss, metrics, rest, new_inner

        def supervised(_):
            loss, (metrics, new_rest) = self.supervised_loss(model, rest, batch, rng)
            return loss, metrics, new_rest, inner

        shapes = [jax.eval_shape(f, None)[1] for f in (pretraining, supervised)]
        keys = sorted(set(shapes[0]) | set(shapes[1]))

        def complete(branch):
            def run(_):
                loss, metrics, new_rest, new_inner = branch(_)
                metrics = {k: metrics[k].astype(jnp.float32) if k in metrics
                           else jnp.zeros((), jnp.float32) for k in keys}
                return loss, metrics, new_rest, new_inner
            return run

        pretrain = step < self.options.pretrain_steps
        loss, metrics, new_rest, new_inner = jax.lax.cond(
            pretrain, complete(pretraining), complete(supervised), None)
        metrics = {**metrics, "pretraining": pretrain.astype(jnp.float32)}
        return loss, (metrics, {**new_rest, "step": step + 1, "pretrain": new_inner})

    def pretrain_loss(self, model, pretrain_state, batch, rng):
        """The unsupervised phase: ``(loss, (metrics, pretrain_state))`` of the sentence method
        on ``pair_texts(batch)``."""
        return self.pretrainer.loss(model.pretrain_model, pretrain_state,
                                    {"text": pair_texts(batch)}, rng)

    def supervised_loss(self, model, method_state, batch, rng):
        """The supervised query/document loss: ``(loss, (metrics, method_state))``."""
        o = self.options
        query_rng, document_rng = jax.random.split(rng)
        q = model.embed_query(batch["query"], train=True, dropout_rng=query_rng)
        documents, k = batch["document"], o.hard_negatives
        if k:
            ids = method_state["negatives"][batch["index"]]  # [B, k]
            valid = ids >= 0
            mined = method_state["documents"][jnp.maximum(ids, 0)].reshape(-1, documents.shape[1])
            documents = jnp.concatenate([documents, mined])
        embedded = model.embed_document(documents, train=True, dropout_rng=document_rng)
        b = q.shape[0]
        d, hard = embedded[:b], embedded[b:]
        metrics = {"batch_retrieval_accuracy": _top1(q, d)}
        if k:
            # The pool's entries that are a query's own document count as no negative.
            pool_mask = (valid.reshape(-1)[None, :]
                         & (ids.reshape(-1)[None, :] != batch["index"][:, None]))
            metrics["mined_fraction"] = jnp.mean(valid)
        if o.loss == "mw_auc":
            loss = self._mw_auc(q, d, hard if k else None, pool_mask if k else None)
        elif k and o.star:
            loss = (losses.dense_retrieval_info_nce(q, d, temperature=o.temperature,
                                                    symmetric=o.symmetric)
                    + losses.star_hard_negative_loss(q, d, hard.reshape(b, k, -1),
                                                     temperature=o.temperature,
                                                     negative_mask=valid))
        else:
            loss = losses.dense_retrieval_info_nce(
                q, d, hard if k else None, temperature=o.temperature,
                negative_mask=pool_mask if k else None, symmetric=o.symmetric)
        return loss, ({"loss": loss, **metrics}, method_state)

    def _mw_auc(self, q, d, hard, pool_mask):
        unit = losses.l2_normalize
        q, d = unit(q), unit(d)
        scores = q @ d.T / self.options.temperature  # [B, B]
        negatives, mask = [scores.reshape(-1)], [~jnp.eye(len(q), dtype=bool).reshape(-1)]
        if hard is not None:
            negatives.append((q @ unit(hard).T / self.options.temperature).reshape(-1))
            mask.append(pool_mask.reshape(-1))
        return losses.mw_auc(jnp.diagonal(scores), jnp.concatenate(negatives),
                             negative_mask=jnp.concatenate(mask))

    # --- evaluation ---

    def embed_query(self, model, tokens: jax.Array) -> jax.Array:
        """Query embeddings [B, D] (eval mode) of tokens int [B, Lq]."""
        return model.embed_query(tokens, train=False)

    def embed_document(self, model, tokens: jax.Array) -> jax.Array:
        """Document embeddings [B, D] (eval mode) of tokens int [B, Ld]."""
        return model.embed_document(tokens, train=False)

    def embed(self, model, inputs) -> jax.Array:
        """The query embedding of a record's ``{"query", "document"}`` (or of plain tokens)."""
        tokens = inputs["query"] if isinstance(inputs, dict) else inputs
        return self.embed_query(model, tokens)


PRETRAINERS = {"simcse": SimCSE, "esimcse": ESimCSE, "contriever": Contriever}


def pair_texts(batch: dict) -> jax.Array:
    """int32 [2B, max(Lq, Ld)]: the batch's queries then its documents as independent texts,
    each right-padded with 0 (the pad id) to the longer length."""
    q, d = batch["query"], batch["document"]
    width = max(q.shape[1], d.shape[1])
    pad = lambda x: jnp.pad(x, ((0, 0), (0, width - x.shape[1])))
    return jnp.concatenate([pad(q), pad(d)]).astype(jnp.int32)


def _top1(q: jax.Array, d: jax.Array) -> jax.Array:
    """Fraction of queries whose most similar batch document (cosine) is their own."""
    scores = losses.l2_normalize(q) @ losses.l2_normalize(d).T
    return jnp.mean(jnp.argmax(scores, axis=1) == jnp.arange(len(q)))
