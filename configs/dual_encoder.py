"""Dual-encoder dense retrieval (DPR-style) on query/document pairs: the offline code search of
the Python standard library by default (docstring -> code), or a user's JSONL pairs.

    python -m contrastive_jax.main --config=configs/dual_encoder.py --workdir=runs/de
    python -m contrastive_jax.main --config=configs/dual_encoder.py:hard_negatives=4 --workdir=runs/hn
    python -m contrastive_jax.main --config=configs/dual_encoder.py:hard_negatives=4,star=True --workdir=runs/star
    python -m contrastive_jax.main --config=configs/dual_encoder.py:loss=mw_auc --workdir=runs/mw
    python -m contrastive_jax.main --config=configs/dual_encoder.py:dataset=text:/data/pairs.jsonl --workdir=runs/mine
    python -m contrastive_jax.main --config=configs/dual_encoder.py:scale=tiny --workdir=/tmp/t

Arguments (``--config=configs/dual_encoder.py:scale=tiny,loss=mw_auc``):
  dataset: codesearch:stdlib (default) | text:<path> (``{"query": ..., "document": ...}`` lines)
  scale: small (default: a 2-block, 64-wide bidirectional Transformer, mean-pooled, dropout
    0.1, shared by queries and documents; a 1,024-id BPE trained on the train split and kept
    in ``<workdir>/tokenizer.json``; queries of 32 and documents of 96 tokens; batch 64, 400
    steps of AdamW at 2e-3; hard negatives mined every 100 steps) | tiny (smoke test: 1
    block, 16 wide, 4 steps)
  loss: infonce (default: in-batch InfoNCE, both directions, temperature 0.05) | mw_auc
  hard_negatives: 0 (default) | k: k mined negatives per query, refreshed every
    ``method.mine_every`` steps from the current model's index of the training documents
  star: False (default) | True: STAR's in-batch (random) loss plus a hard-negative loss

The final summary (``summary.json``) reports held-out Recall@1/5/10, MRR@10 and nDCG@10 of the
learned encoder, the same encoder at random init and BM25, plus alignment / uniformity; the
online evaluation (``metrics.jsonl``) reports the held-out MRR@10 and Recall@1.
"""

import ml_collections

from configs import common


def get_config(arg: str | None = None):
    args = common.parse_arg(arg, dataset="codesearch:stdlib", scale="small", loss="infonce",
                            hard_negatives=0, star=False)
    config = common.base_config()
    config.dataset = ml_collections.ConfigDict(dict(
        name=args.dataset, data_dir="", download=False, imbalance=1.0, vocab_size=1024,
        query_length=32, document_length=96))
    config.augment = ml_collections.ConfigDict(dict(name="none", num_views=1))
    config.encoder = ml_collections.ConfigDict(dict(
        name="text_transformer", vocab_size=1024, width=64, depth=2, num_heads=4,
        mlp_ratio=4.0, causal=False, pool="mean", dropout=0.1))
    config.method = ml_collections.ConfigDict(dict(
        name="dual_encoder", shared=True, embed_dim=0, temperature=0.05, symmetric=True,
        loss=args.loss, hard_negatives=args.hard_negatives, mine_every=100, star=args.star))
    config.batch_size = 64
    config.total_steps = 400
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adamw", learning_rate=2e-3, weight_decay=1e-2, warmup_steps=50,
        final_lr_fraction=0.0, grad_clip_norm=1.0, decay_all=False))
    config.eval.update(dict(every_steps=100, batch_size=256, final_linear_probe=False,
                            plot_embedding=False))
    config.checkpoint.every_steps = 200
    config.log_every_steps = 50
    if args.scale == "tiny":
        config.dataset.update(dict(vocab_size=512, query_length=16, document_length=32))
        config.encoder.update(dict(vocab_size=512, width=16, depth=1, num_heads=2))
        config.method.mine_every = 2
        config.batch_size = 16
        config.total_steps = 4
        config.optimizer.warmup_steps = 1
        config.eval.update(dict(every_steps=2, batch_size=250))
        config.checkpoint.every_steps = 2
        config.log_every_steps = 1
    elif args.scale != "small":
        raise ValueError(f"configs/dual_encoder.py: unknown scale {args.scale!r} (small | tiny).")
    return config
