"""``codesearch:stdlib`` / ``sentences:stdlib``: pairs from a small written package (exact
content) and from the installed standard library (splits, leaks, determinism)."""

import ast
import textwrap

import pytest

from contrastive_jax.data import stdlib_corpus as corpus

MODULE = '''
"""Module docstring (not a pair)."""

def scale(values, factor):
    """Multiply every value by the factor.

    Longer explanation. It has two sentences!
    """
    return [v * factor for v in values]


def tiny():
    """Too short."""
    return 1


class Counter:
    """Count the hashable items you give it.

    >>> Counter()
    """

    def add(self, item):
        """Add one occurrence of the item."""
        self.counts[item] = self.counts.get(item, 0) + 1
        return self
'''


@pytest.fixture
def root(tmp_path):
    for package in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "core.py").write_text(MODULE.replace("factor", f"{package}_f"))
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "test_x.py").write_text(MODULE)
    (tmp_path / "broken.py").write_text("def (:\n")
    return str(tmp_path)


def test_pairs_are_first_paragraph_and_code_without_docstring(root):
    pairs = [p for split in corpus.SPLITS for p in corpus.code_search_pairs(split, root=root)]
    alpha = {p["name"]: p for p in pairs if p["module"] == "alpha.core"}
    # "tiny" has a 2-word query; "Counter.add" is the same in every package, so kept once.
    assert set(alpha) == {"scale", "Counter", "Counter.add"}
    assert alpha["scale"]["query"] == "Multiply every value by the alpha_f."
    document = alpha["scale"]["document"]
    assert '"""' not in document and "Longer explanation" not in document
    assert ast.parse(document).body[0].name == "scale"  # valid code
    assert "return [v * alpha_f for v in values]" in document
    # identical texts are kept once: the first module (alpha) keeps Counter.add
    assert sum(p["name"] == "Counter.add" for p in pairs) == 1
    assert all(not p["module"].startswith("test") for p in pairs)


def test_building_twice_gives_the_same_corpus(root):
    first = corpus.code_search_pairs("train", root=root)
    corpus._all_pairs.cache_clear()
    assert corpus.code_search_pairs("train", root=root) == first and first


def test_splits_are_by_top_level_package(root):
    for split in corpus.SPLITS:
        for pair in corpus.code_search_pairs(split, root=root):
            assert corpus.split_of(pair["module"]) == split
    assert corpus.split_of("email.mime.text") == corpus.split_of("email")
    with pytest.raises(ValueError, match="unknown split"):
        corpus.code_search_pairs("dev", root=root)


def test_sentences_of_a_docstring():
    text = textwrap.dedent('''\
        Return the thing. It may be None!

        Examples:
        >>> f()
        Is this a question? yes it is.''')
    # a sentence ends at . ! ? followed by a capital; the doctest line is dropped
    assert corpus.sentences(text) == ["Return the thing.", "It may be None!",
                                      "Examples: Is this a question? yes it is."]


def test_stdlib_corpus_has_no_leak_between_splits():
    splits = {s: corpus.code_search_pairs(s) for s in corpus.SPLITS}
    assert len(splits["train"]) > 3000 and min(len(v) for v in splits.values()) > 100
    packages = {s: {p["module"].split(".")[0] for p in v} for s, v in splits.items()}
    assert not packages["train"] & packages["test"] and not packages["train"] & packages[
        "validation"] and not packages["validation"] & packages["test"]
    for key in ("query", "document"):
        texts = [p[key] for v in splits.values() for p in v]
        assert len(texts) == len(set(texts))
    sentences = {s: {r["text"] for r in corpus.docstring_sentences(s)} for s in corpus.SPLITS}
    assert not sentences["train"] & sentences["test"]
    assert len(sentences["train"]) > len(splits["train"])
