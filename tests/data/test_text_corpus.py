"""Text sources: codesearch:stdlib / sentences:stdlib records, the workdir tokenizer (saved,
reloaded, not retrained), and text:<path> JSONL corpora with their errors."""

import json

import numpy as np
import pytest

from contrastive_jax.data import build_source, text_corpus
from contrastive_jax.data.text_tokenizer import BpeTokenizer


@pytest.fixture(scope="module")
def codesearch(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("run"))
    options = dict(workdir=workdir, vocab_size=512, query_length=16, document_length=48)
    return workdir, {split: build_source("codesearch:stdlib", split, **options)
                     for split in ("train", "test")}


def test_codesearch_records_and_no_leak_between_splits(codesearch):
    _, sources = codesearch
    train, test = sources["train"], sources["test"]
    assert train.info.input_keys == ("query", "document") and train.info.num_classes == 0
    record = test[3]
    assert record["query"].shape == (16,) and record["document"].shape == (48,)
    assert record["query"].dtype == np.int32 and int(record["index"]) == 3
    assert len(train) > 1000 and len(test) > 100
    for key in ("query", "document"):
        assert not set(train.texts[key]) & set(test.texts[key])
    # Every row is its text's own encoding, closed by end-of-text (id 2) unless truncated.
    tokenizer = BpeTokenizer.from_json(train.tokenizer.json, max_len=16)
    np.testing.assert_array_equal(tokenizer.encode(test.texts["query"][:5]),
                                  test.tokens["query"][:5])
    assert np.all(test.tokens["query"].max(axis=1) < 512)


def test_tokenizer_saved_in_workdir_reloaded_not_retrained(codesearch, monkeypatch):
    workdir, sources = codesearch
    saved = json.loads(open(f"{workdir}/tokenizer.json").read())
    assert saved["vocab_size"] == 512 and saved["tokenizer"] == sources["train"].tokenizer.json

    def no_training(*args, **kwargs):
        raise AssertionError("the tokenizer was retrained instead of read from the workdir")

    monkeypatch.setattr(text_corpus, "_train", no_training)
    again = build_source("codesearch:stdlib", "test", workdir=workdir, vocab_size=512,
                         query_length=16, document_length=48)
    np.testing.assert_array_equal(again.tokens["document"], sources["test"].tokens["document"])
    with pytest.raises(ValueError, match="vocab_size=512"):
        build_source("codesearch:stdlib", "test", workdir=workdir, vocab_size=1024)


def test_round_trip_and_deterministic_training():
    texts = ["Return the sum of two numbers.", "def add(a, b):\n    return a + b"] * 20
    first = BpeTokenizer.train(texts, vocab_size=300, max_len=32)
    second = BpeTokenizer.train(texts, vocab_size=300, max_len=32)
    assert first.json == second.json
    restored = BpeTokenizer.from_json(first.json, max_len=32)
    for text in texts[:2]:  # lower-cased by the tokenizer's normalizer
        assert restored.decode(restored.encode([text])[0]) == text.lower()


@pytest.mark.slow
def test_sentences_records():
    source = build_source("sentences:stdlib", "test", vocab_size=300, text_length=20)
    assert source.info.input_keys == ("text",) and source[0]["text"].shape == (20,)
    train = build_source("sentences:stdlib", "train", vocab_size=300, text_length=20)
    assert not set(train.texts["text"]) & set(source.texts["text"])


def write_lines(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


PAIRS = [{"query": f"query number {i} about topic {i % 7}", "document": f"def f{i}(): return {i}"}
         for i in range(60)]


def test_text_jsonl_pairs_and_texts(tmp_path):
    path = write_lines(tmp_path / "pairs.jsonl", PAIRS)
    train = build_source(f"text:{path}", "train", vocab_size=300)
    test = build_source(f"text:{path}", "test", vocab_size=300)
    assert train.info.input_keys == ("query", "document")
    assert len(train) + len(test) == 60 and len(test) > 0
    assert not set(train.texts["query"]) & set(test.texts["query"])
    expected = [p["query"] for p in PAIRS
                if text_corpus.hash_split(p["query"], 10) == "test"]
    assert test.texts["query"] == expected  # split by hash, in file order
    folder = tmp_path / "texts"
    folder.mkdir()
    write_lines(folder / "a.jsonl", [{"text": p["query"]} for p in PAIRS[:30]])
    write_lines(folder / "b.jsonl", [{"text": p["query"]} for p in PAIRS[30:]])
    texts = build_source(f"text:{folder}", "train", vocab_size=300, text_length=12)
    assert texts.info.input_keys == ("text",) and texts[0]["text"].shape == (12,)


def test_text_jsonl_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        build_source(f"text:{tmp_path}/missing.jsonl", "train")
    bad = write_lines(tmp_path / "bad.jsonl", [PAIRS[0], PAIRS[1], "{not json"])
    with pytest.raises(ValueError, match="line 3 is not valid JSON"):
        build_source(f"text:{bad}", "train")
    mixed = write_lines(tmp_path / "mixed.jsonl", [PAIRS[0], {"text": "a sentence"}])
    with pytest.raises(ValueError, match="line 2 is a text line but the corpus began with "
                                         "query/document"):
        build_source(f"text:{mixed}", "train")
    keys = write_lines(tmp_path / "keys.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(ValueError, match="line 1 has keys"):
        build_source(f"text:{keys}", "train")
    with pytest.raises(FileNotFoundError, match="no .jsonl file"):
        build_source(f"text:{tmp_path / 'empty_dir'}", "train") if (
            tmp_path / "empty_dir").mkdir() is None else None
