"""Offline text corpora from the installed Python standard library (its docstrings and code).

    pairs = code_search_pairs("train")        # [{"query", "document", "module", "name"}, ...]
    sentences = docstring_sentences("train")  # [{"text", "module", "name"}, ...]

``code_search_pairs`` (``codesearch:stdlib``): every documented function, method and class of
the standard library's own modules (tests, ``idlelib``, ``lib2to3``, ``turtledemo`` and
``site-packages`` left out) becomes one pair: the first paragraph of its docstring (the query)
and its code with the docstring removed, as ``ast.unparse`` writes it (the document; a class's
document is its whole body, methods included). Pairs whose query or document is too short to
say anything (``min_query_words``, ``min_document_lines``) are dropped, and identical queries or
identical documents are kept once (the first in module order), so a text never appears in two
splits. Splits are by top-level package: each package's name is hashed (crc32) into train
(80%), validation (10%) or test (10%), so a module and its siblings never straddle two splits.
The result depends only on the Python installation; it is deterministic and takes a few
seconds (cached per process).

``docstring_sentences`` (``sentences:stdlib``): the sentences of those same docstrings (whole
docstrings, not only the first paragraph), for unsupervised sentence-embedding methods, with
the same split by package.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sysconfig
import warnings
import zlib

SPLITS = ("train", "validation", "test")
SKIPPED_DIRS = {"test", "tests", "idle_test", "idlelib", "lib2to3", "turtledemo",
                "site-packages", "dist-packages", "__pycache__", "ensurepip", "__phello__"}
TEST_SHARE, VALIDATION_SHARE = 10, 10  # percent of packages (by hash)


def stdlib_files(root: str | None = None) -> list[tuple[str, str]]:
    """``(module name, path)`` of every standard-library ``.py`` file under ``root`` (the
    running interpreter's by default), sorted by module name."""
    root = root or sysconfig.get_paths()["stdlib"]
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in files:
            if not name.endswith(".py"):
                continue
            relative = os.path.relpath(os.path.join(directory, name), root)[:-3]
            parts = relative.split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and all(p.isidentifier() for p in parts):
                found.append((".".join(parts), os.path.join(directory, name)))
    return sorted(found)


def split_of(module: str) -> str:
    """``train`` / ``validation`` / ``test`` from the crc32 of the module's top-level package."""
    bucket = zlib.crc32(module.split(".")[0].encode()) % 100
    if bucket < TEST_SHARE:
        return "test"
    return "validation" if bucket < TEST_SHARE + VALIDATION_SHARE else "train"


def first_paragraph(docstring: str) -> str:
    """The docstring's first paragraph with its whitespace collapsed."""
    paragraph = re.split(r"\n\s*\n", docstring.strip(), maxsplit=1)[0]
    return " ".join(paragraph.split())


def sentences(docstring: str) -> list[str]:
    """The docstring's prose sentences: paragraphs joined, split after ``.``, ``?`` or ``!``;
    lines that look like code (``>>>``, indented blocks) dropped."""
    kept = [line for line in docstring.splitlines()
            if not line.strip().startswith((">>>", "...")) and not line.startswith("        ")]
    text = " ".join(" ".join(kept).split())
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if s.strip()]


def _without_docstring(node: ast.AST) -> ast.AST:
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    node.body = body or [ast.Pass()]
    return node


def _documented(tree: ast.Module):
    """``(qualified name, node)`` of every function, method and class with a docstring."""
    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if ast.get_docstring(child):
                    yield name, child
                if isinstance(child, ast.ClassDef):
                    yield from visit(child, name + ".")
    yield from visit(tree, "")


def _parse(path: str) -> ast.Module | None:
    try:
        with open(path, encoding="utf-8") as file:
            source = file.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.parse(source)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return None  # a few stdlib files are templates or other encodings


@functools.lru_cache(maxsize=2)
def _all_pairs(root: str | None, min_query_words: int, min_document_lines: int):
    pairs, seen_queries, seen_documents = [], set(), set()
    for module, path in stdlib_files(root):
        tree = _parse(path)
        if tree is None:
            continue
        for name, node in _documented(tree):
            docstring = ast.get_docstring(node)
            query = first_paragraph(docstring)
            document = ast.unparse(_without_docstring(node))
            if len(query.split()) < min_query_words or \
                    document.count("\n") + 1 < min_document_lines:
                continue
            if query.lower() in seen_queries or document in seen_documents:
                continue
            seen_queries.add(query.lower())
            seen_documents.add(document)
            pairs.append({"query": query, "document": document, "module": module,
                          "name": name, "docstring": docstring, "split": split_of(module)})
    return tuple(pairs)


def code_search_pairs(split: str, *, root: str | None = None, min_query_words: int = 4,
                      min_document_lines: int = 2) -> list[dict[str, str]]:
    """The ``split`` of ``codesearch:stdlib``: dicts with ``query`` (first docstring paragraph),
    ``document`` (the code without its docstring), ``module`` and ``name``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}.")
    return [{k: pair[k] for k in ("query", "document", "module", "name")}
            for pair in _all_pairs(root, min_query_words, min_document_lines)
            if pair["split"] == split]


def docstring_sentences(split: str, *, root: str | None = None,
                        min_words: int = 4) -> list[dict[str, str]]:
    """The ``split`` of ``sentences:stdlib``: every sentence of at least ``min_words`` words of
    the documented objects' docstrings, once each, with its ``module`` and ``name``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}.")
    seen, out = set(), []
    for pair in _all_pairs(root, 4, 2):
        for sentence in sentences(pair["docstring"]):
            key = sentence.lower()
            if len(sentence.split()) < min_words or key in seen:
                continue
            seen.add(key)
            if pair["split"] == split:
                out.append({"text": sentence, "module": pair["module"], "name": pair["name"]})
    return out
