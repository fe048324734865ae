"""Unsupervised SimCSE (two dropout passes of each sentence, in-batch InfoNCE) on text; also
the shared setup of the other sentence-embedding configs (esimcse, debcse, whitenedcse,
contriever), which call ``sentence_config`` with their method's name.

    python -m contrastive_jax.main --config=configs/simcse.py --workdir=runs/simcse
    python -m contrastive_jax.main --config=configs/simcse.py:dataset=text:/data/texts.jsonl --workdir=runs/mine
    python -m contrastive_jax.main --config=configs/simcse.py:scale=tiny --workdir=/tmp/t

Arguments: dataset: sentences:stdlib (default; the standard library's docstring sentences) |
text:<path> (``{"text": ...}`` lines); scale: small (default: a 2-block, 128-wide bidirectional
Transformer, mean-pooled, dropout 0.1; a 4,096-id BPE kept in ``<workdir>/tokenizer.json``;
sentences of 32 tokens; batch 64, 1,000 steps) | tiny (smoke test: 1 block, 16 wide, 4 steps).

Evaluation (``sentences:stdlib``, whose sentences carry the docstring they come from): the final
summary's rows ``learned`` and ``random_init`` hold a sentence-similarity proxy over the held-out
sentences (does a sentence retrieve another sentence of its own docstring: Recall@1/5/10,
MRR@10, nDCG@10; ``evaluate.pair_retrieval.sentence_group_metrics``) with alignment over
same-docstring pairs and uniformity; the online evaluation (``metrics.jsonl``) its MRR@10.

Paper: "SimCSE: Simple Contrastive Learning of Sentence Embeddings", Gao et al., 2021
(temperature 0.05, dropout 0.1, batch 64, lr 3e-5 for a pretrained BERT-base; a small model
trained from scratch here takes a larger learning rate).
"""

import ml_collections

from configs import common

# config.method of each method: the paper's defaults (the queue sizes scaled to this batch).
METHOD_OPTIONS = {
    "simcse": dict(temperature=0.05, head="dense_tanh", token_dropout=0.0, loss_block_size=0,
                   cross_device="global"),
    "esimcse": dict(temperature=0.05, head="dense_tanh", token_dropout=0.0, dup_rate=0.32,
                    queue_size=160, momentum=0.995, loss_block_size=0, cross_device="global"),
    "debcse": dict(temperature=0.05, head="dense_tanh", token_dropout=0.0, num_bins=10,
                   false_negative_threshold=0.9, loss_block_size=0, cross_device="global"),
    "whitenedcse": dict(temperature=0.05, head="dense_tanh", token_dropout=0.0, num_views=3,
                        num_groups=32, eps=1e-5),
    "contriever": dict(temperature=0.05, head="none", token_dropout=0.1, min_ratio=0.1,
                       max_ratio=0.5, queue_size=4096, momentum=0.9995),
}
TINY_METHOD_OPTIONS = {"esimcse": dict(queue_size=40), "whitenedcse": dict(num_groups=4),
                       "contriever": dict(queue_size=48)}


def sentence_config(method: str, arg: str | None = None):
    args = common.parse_arg(arg, dataset="sentences:stdlib", scale="small")
    config = common.base_config()
    config.dataset = ml_collections.ConfigDict(dict(
        name=args.dataset, data_dir="", download=False, imbalance=1.0, vocab_size=4096,
        text_length=32))
    config.augment = ml_collections.ConfigDict(dict(name="none", num_views=1))
    config.encoder = ml_collections.ConfigDict(dict(
        name="text_transformer", vocab_size=4096, width=128, depth=2, num_heads=4,
        mlp_ratio=4.0, causal=False, pool="mean", dropout=0.1))
    config.method = ml_collections.ConfigDict(dict(name=method, **METHOD_OPTIONS[method]))
    config.batch_size = 64
    config.total_steps = 1000
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adamw", learning_rate=5e-4, weight_decay=1e-2, warmup_steps=50,
        final_lr_fraction=0.0, grad_clip_norm=1.0, decay_all=False))
    config.eval.update(dict(every_steps=250, batch_size=256, final_linear_probe=False,
                            plot_embedding=False))
    config.checkpoint.every_steps = 250
    config.log_every_steps = 50
    if args.scale == "tiny":
        config.dataset.update(dict(vocab_size=512, text_length=16))
        config.encoder.update(dict(vocab_size=512, width=16, depth=1, num_heads=2))
        config.method.update(TINY_METHOD_OPTIONS.get(method, {}))
        config.batch_size = 16
        config.total_steps = 4
        config.optimizer.warmup_steps = 1
        config.eval.update(dict(every_steps=2, batch_size=250))
        config.checkpoint.every_steps = 2
        config.log_every_steps = 1
    elif args.scale != "small":
        raise ValueError(f"configs/{method}.py: unknown scale {args.scale!r} (small | tiny).")
    return config


def get_config(arg: str | None = None):
    return sentence_config("simcse", arg)
