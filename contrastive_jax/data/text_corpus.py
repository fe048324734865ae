"""Text sources: query/document pairs and plain texts, tokenized by a BPE trained on the train split.

    codesearch:stdlib   records {"query": int32 [Lq], "document": int32 [Ld], "label", "index"}
    sentences:stdlib    records {"text": int32 [L], "label", "index"}
    text:<path>         a user's JSONL corpus: ``{"query": ..., "document": ...}`` lines (pairs)
                        or ``{"text": ...}`` lines (texts); ``<path>`` a file or a directory of
                        ``.jsonl`` files

``codesearch:stdlib`` and ``sentences:stdlib`` come from the installed Python standard library
(``data.stdlib_corpus``: split by top-level package, deduplicated). A ``text:<path>`` corpus has
no split of its own: its lines are split by a crc32 hash of each line's text (``test_share``
percent held out, 10 by default), so a text never lands in both splits and the split does not
depend on the line order.

Tokenizer: a byte-level BPE (``data.text_tokenizer.BpeTokenizer``: id 0 pads, 1 unknown, 2 ends
the text) of ``vocab_size`` ids, trained on the train split's texts (queries and documents
both) in their order, so it is deterministic. With a ``workdir`` (``train.build.build_parts``
passes the run's) it is saved as ``<workdir>/tokenizer.json`` the first time and read from there
afterwards (a resumed run, the test split, a later evaluation), never retrained. Without a
workdir it is trained in memory (once per process for the same corpus and size).

``info.input_keys`` is ``("query", "document")`` for pairs and ``("text",)`` for texts;
``info.image_shape`` is ``(L,)`` of the first key; ``num_classes`` is 0 (no labels: a pair
source is evaluated by retrieval, each query's own document the one relevant item). ``label``
in a record is its position (the pair id), there only because the evaluation pipeline carries
a label per record.
"""

from __future__ import annotations

import functools
import json
import os
import zlib
from typing import Sequence

import numpy as np

from contrastive_jax.data.sources import SourceInfo
from contrastive_jax.data.text_tokenizer import BpeTokenizer

TOKENIZER_FILE = "tokenizer.json"
PAIR_KEYS = ("query", "document")
TEXT_KEYS = ("text",)


class TextPairSource:
    """Query/document pairs as token ids: ``source[i] = {"query": int32 [Lq], "document":
    int32 [Ld], "label": int32 (= i), "index": int32 (= i)}``.

    ``texts``: ``{"query": [str], "document": [str]}`` (the raw texts, for BM25 and
    inspection); ``tokenizer``: the BPE (``vocab_size`` ids)."""

    def __init__(self, name: str, queries: Sequence[str], documents: Sequence[str],
                 tokenizer: BpeTokenizer, *, query_length: int, document_length: int):
        if len(queries) != len(documents):
            raise ValueError(f"{name}: {len(queries)} queries for {len(documents)} documents.")
        if not queries:
            raise ValueError(f"{name}: the split is empty.")
        self.texts = {"query": list(queries), "document": list(documents)}
        self.tokenizer = tokenizer
        self.tokens = {
            "query": _encode(tokenizer, queries, query_length),
            "document": _encode(tokenizer, documents, document_length)}
        self.info = SourceInfo(name, (query_length,), 0, input_keys=PAIR_KEYS)

    def __len__(self) -> int:
        return len(self.texts["query"])

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {"query": self.tokens["query"][index], "document": self.tokens["document"][index],
                "label": np.int32(index), "index": np.int32(index)}

    def __repr__(self) -> str:
        return f"TextPairSource({self.info.name}, n={len(self)})"


class TextSource:
    """Texts as token ids: ``source[i] = {"text": int32 [L], "label": int32 (= i), "index"}``.
    ``texts``: ``{"text": [str]}``; ``tokenizer``: the BPE; ``groups``: None or int32 [N], the
    group of each text (``sentences:stdlib``: the documented object whose docstring it is
    from; the final evaluation's sentence-similarity proxy retrieves within groups)."""

    def __init__(self, name: str, texts: Sequence[str], tokenizer: BpeTokenizer, *,
                 text_length: int, groups: Sequence[int] | None = None):
        if not texts:
            raise ValueError(f"{name}: the split is empty.")
        if groups is not None and len(groups) != len(texts):
            raise ValueError(f"{name}: {len(groups)} group ids for {len(texts)} texts.")
        self.groups = None if groups is None else np.asarray(groups, np.int32)
        self.texts = {"text": list(texts)}
        self.tokenizer = tokenizer
        self.tokens = {"text": _encode(tokenizer, texts, text_length)}
        self.info = SourceInfo(name, (text_length,), 0, input_keys=TEXT_KEYS)

    def __len__(self) -> int:
        return len(self.texts["text"])

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {"text": self.tokens["text"][index], "label": np.int32(index),
                "index": np.int32(index)}

    def __repr__(self) -> str:
        return f"TextSource({self.info.name}, n={len(self)})"


def _encode(tokenizer: BpeTokenizer, texts: Sequence[str], length: int) -> np.ndarray:
    tokens = BpeTokenizer.from_json(tokenizer.json, max_len=length).encode(list(texts))
    tokens.flags.writeable = False
    return tokens


# --- the tokenizer: trained on the train split, kept in the workdir ---------------------------


@functools.lru_cache(maxsize=8)
def _train(texts: tuple[str, ...], vocab_size: int) -> BpeTokenizer:
    return BpeTokenizer.train(texts, vocab_size=vocab_size, max_len=2)


def workdir_tokenizer(workdir: str | None, train_texts: Sequence[str], *,
                      vocab_size: int) -> BpeTokenizer:
    """``<workdir>/tokenizer.json`` if it exists (its ``vocab_size`` must match), else a BPE
    trained on ``train_texts`` and written there (atomically); no workdir: trained in memory.
    The returned tokenizer's ``max_len`` is a placeholder (sources encode at their lengths)."""
    from etils import epath

    if vocab_size < 259:
        raise ValueError(f"dataset.vocab_size={vocab_size}: a byte-level BPE needs at least "
                         f"259 ids (3 special tokens and 256 bytes).")
    path = epath.Path(workdir) / TOKENIZER_FILE if workdir else None
    if path is not None and path.exists():
        saved = json.loads(path.read_text())
        tokenizer = BpeTokenizer.from_json(saved["tokenizer"], max_len=2)
        if saved.get("vocab_size") != vocab_size:
            raise ValueError(f"{path} was trained with vocab_size={saved.get('vocab_size')}, "
                             f"but dataset.vocab_size={vocab_size}: use the same value, or a "
                             f"new workdir.")
        return tokenizer
    tokenizer = _train(tuple(train_texts), int(vocab_size))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / f".{TOKENIZER_FILE}.tmp{os.getpid()}"
        temporary.write_text(json.dumps({"vocab_size": int(vocab_size),
                                         "tokenizer": tokenizer.json}))
        temporary.rename(path)
    return tokenizer


# --- the stdlib corpora -------------------------------------------------------------------------


def _split_name(split: str, name: str) -> str:
    if split not in ("train", "validation", "test"):
        raise ValueError(f"{name}: unknown split {split!r}; valid splits: 'train', "
                         f"'validation', 'test'.")
    return split


def codesearch_source(corpus: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                      workdir: str | None = None, vocab_size: int = 4096,
                      query_length: int = 32, document_length: int = 128) -> TextPairSource:
    """``codesearch:stdlib``: first docstring paragraph -> the code without its docstring
    (``data.stdlib_corpus.code_search_pairs``), tokenized to ``query_length`` /
    ``document_length`` ids by the BPE of the train split (see the module docstring)."""
    del data_dir, seed  # offline, fixed split
    from contrastive_jax.data.stdlib_corpus import code_search_pairs

    name = f"codesearch:{corpus}"
    if corpus != "stdlib":
        raise ValueError(f"unknown corpus {name!r}; valid: codesearch:stdlib (for your own "
                         f"pairs use text:<path to a JSONL file>).")
    train = code_search_pairs("train")
    tokenizer = workdir_tokenizer(
        workdir, [p["query"] for p in train] + [p["document"] for p in train],
        vocab_size=vocab_size)
    pairs = code_search_pairs(_split_name(split, name))
    return TextPairSource(name, [p["query"] for p in pairs], [p["document"] for p in pairs],
                          tokenizer, query_length=query_length, document_length=document_length)


def sentences_source(corpus: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                     workdir: str | None = None, vocab_size: int = 4096,
                     text_length: int = 32) -> TextSource:
    """``sentences:stdlib``: the docstring sentences (``stdlib_corpus.docstring_sentences``),
    tokenized to ``text_length`` ids by the BPE of the train split's sentences; ``groups``:
    one id per documented object (module, name), numbered in order of appearance."""
    del data_dir, seed
    from contrastive_jax.data.stdlib_corpus import docstring_sentences

    name = f"sentences:{corpus}"
    if corpus != "stdlib":
        raise ValueError(f"unknown corpus {name!r}; valid: sentences:stdlib (for your own "
                         f"texts use text:<path to a JSONL file>).")
    tokenizer = workdir_tokenizer(workdir, [s["text"] for s in docstring_sentences("train")],
                                  vocab_size=vocab_size)
    records = docstring_sentences(_split_name(split, name))
    ids: dict[tuple[str, str], int] = {}
    groups = [ids.setdefault((s["module"], s["name"]), len(ids)) for s in records]
    return TextSource(name, [s["text"] for s in records], tokenizer, text_length=text_length,
                      groups=groups)


# --- a user's JSONL corpus ------------------------------------------------------------------------


def jsonl_files(path: str) -> list[str]:
    """``path`` itself, or the sorted ``*.jsonl`` files of a directory."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".jsonl"))
        if not files:
            raise FileNotFoundError(f"text:{path}: the directory holds no .jsonl file.")
        return files
    if not os.path.exists(path):
        raise FileNotFoundError(f"text:{path}: no such file or directory; give a JSONL file "
                                f"(one JSON object per line) or a directory of .jsonl files.")
    return [path]


def read_jsonl(path: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """``(keys, rows)``: every non-empty line of the corpus at ``path`` as ``{"query",
    "document"}`` or ``{"text"}`` (other keys ignored); one format for the whole corpus."""
    keys, rows = None, []
    for file in jsonl_files(path):
        with open(file, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"text:{path}: {file} line {number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{where} is not valid JSON ({error.msg}); each line must "
                                     f"be one JSON object.") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{where} is a {type(row).__name__}, not a JSON object.")
                found = PAIR_KEYS if all(k in row for k in PAIR_KEYS) else (
                    TEXT_KEYS if "text" in row else None)
                if found is None:
                    raise ValueError(f"{where} has keys {sorted(row)}; each line needs "
                                     f"\"query\" and \"document\", or \"text\".")
                if keys is None:
                    keys = found
                elif found != keys:
                    raise ValueError(f"{where} is a {'/'.join(found)} line but the corpus "
                                     f"began with {'/'.join(keys)} lines: use one format per "
                                     f"corpus.")
                bad = [k for k in found if not isinstance(row[k], str)]
                if bad:
                    raise ValueError(f"{where}: {bad[0]!r} must be a string, got "
                                     f"{type(row[bad[0]]).__name__}.")
                rows.append({k: row[k] for k in found})
    if not rows:
        raise ValueError(f"text:{path}: the corpus has no lines.")
    return keys, rows


def hash_split(text: str, test_share: int) -> str:
    """``test`` for ``crc32(text) % 100 < test_share``, else ``train``."""
    return "test" if zlib.crc32(text.encode()) % 100 < test_share else "train"


def text_source(path: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                workdir: str | None = None, vocab_size: int = 4096, query_length: int = 32,
                document_length: int = 128, text_length: int = 32,
                test_share: int = 10) -> TextPairSource | TextSource:
    """``text:<path>``: a user's JSONL corpus (see the module docstring), split by hash
    (pairs by their query)."""
    del data_dir, seed
    if split not in ("train", "test"):
        raise ValueError(f"text:{path}: unknown split {split!r}; valid splits: 'train', 'test'.")
    if not 0 < test_share < 100:
        raise ValueError(f"dataset.test_share={test_share} must be in (0, 100) percent.")
    keys, rows = read_jsonl(path)
    by_split = {"train": [], "test": []}
    for row in rows:
        by_split[hash_split(row[keys[0]], test_share)].append(row)
    for name, part in by_split.items():
        if not part:
            raise ValueError(f"text:{path}: the {name} split is empty ({len(rows)} lines, "
                             f"test_share={test_share}%): add lines or change test_share.")
    train = by_split["train"]
    tokenizer = workdir_tokenizer(workdir, [row[k] for k in keys for row in train],
                                  vocab_size=vocab_size)
    chosen = by_split[split]
    name = f"text:{path}"
    if keys == PAIR_KEYS:
        return TextPairSource(name, [r["query"] for r in chosen], [r["document"] for r in chosen],
                              tokenizer, query_length=query_length,
                              document_length=document_length)
    return TextSource(name, [r["text"] for r in chosen], tokenizer, text_length=text_length)
