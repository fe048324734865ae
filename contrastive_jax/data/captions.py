"""``captions:<source>``: synthetic image-caption pairs from a labelled source, for CLIP-style runs.

    DATASETS.build("captions:mnist5k", "train")   # records gain "text": int32 [max_len]

Each example gets one caption, a class template ("a photo of the digit seven", "a handwritten
7", ...) picked by a seeded RNG, so the pairing is fixed for a (seed, split). Captions are
tokenized by a small word-level ``Tokenizer`` whose fixed vocabulary is every word of every
template and class name. ``class_prompts`` gives the [num_classes, num_templates, L] token
arrays of all templates for zero-shot evaluation (``evaluate.zero_shot``).
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from typing import Sequence

import numpy as np

from contrastive_jax.data.sources import SourceInfo

PAD, UNKNOWN = 0, 1
DEFAULT_MAX_LEN = 16
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_TEMPLATES = (
    "a photo of the digit {word}",
    "a handwritten {numeral}",
    "the number {word}",
    "a picture of a {numeral}",
    "a drawing of the number {word}",
    "a blurry photo of the digit {numeral}",
    "an image of a handwritten {word}",
    "a scan of the number {numeral}",
)
GENERIC_TEMPLATES = (
    "a photo of a {name}",
    "a picture of the {name}",
    "an image of a {name}",
    "a blurry photo of a {name}",
    "a close-up photo of the {name}",
    "a drawing of a {name}",
    "a low resolution photo of a {name}",
    "a {name}",
)


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words: ``"T-shirt/top!" -> ["t", "shirt", "top"]``."""
    return re.findall(r"[a-z0-9]+", text.lower())


def _is_digit_set(class_names: Sequence[str]) -> bool:
    return bool(class_names) and all(name in "0123456789" and len(name) == 1
                                     for name in class_names)


def class_captions(class_names: Sequence[str]) -> list[list[str]]:
    """Every template filled in for every class: ``[num_classes][num_templates]`` strings.

    Digit classes ("0".."9") use the digit templates (number words and numerals); any other
    class names use the generic photo templates.
    """
    if _is_digit_set(class_names):
        return [[t.format(word=NUMBER_WORDS[int(name)], numeral=name) for t in DIGIT_TEMPLATES]
                for name in class_names]
    return [[t.format(name=name) for t in GENERIC_TEMPLATES] for name in class_names]


@dataclasses.dataclass(frozen=True)
class Tokenizer:
    """Word-level tokenizer over a fixed vocabulary; id 0 pads, id 1 is an unknown word.

    ``encode(text) -> int32 [max_len]`` (truncated or padded); ``decode(ids) -> str``.
    """

    vocabulary: tuple[str, ...]
    max_len: int = DEFAULT_MAX_LEN

    @classmethod
    def from_texts(cls, texts: Sequence[str], max_len: int = DEFAULT_MAX_LEN) -> "Tokenizer":
        """A vocabulary of every word in ``texts``, sorted so it does not depend on their order."""
        return cls(tuple(sorted({w for text in texts for w in words(text)})), max_len)

    @property
    def vocab_size(self) -> int:
        """Number of ids, pad and unknown included (the text embedding table's size)."""
        return len(self.vocabulary) + 2

    def _ids(self) -> dict[str, int]:
        return {word: index + 2 for index, word in enumerate(self.vocabulary)}

    def encode(self, text: str) -> np.ndarray:
        """int32 [max_len]: word ids, then PAD."""
        ids = self._ids()
        tokens = [ids.get(word, UNKNOWN) for word in words(text)][:self.max_len]
        return np.asarray(tokens + [PAD] * (self.max_len - len(tokens)), np.int32)

    def decode(self, tokens: Sequence[int]) -> str:
        """The words of ``tokens`` [L] with padding dropped; unknown ids read ``<unk>``."""
        out = []
        for token in np.asarray(tokens).tolist():
            if token == PAD:
                continue
            out.append(self.vocabulary[token - 2] if token >= 2 else "<unk>")
        return " ".join(out)


def tokenizer_for(class_names: Sequence[str], max_len: int = DEFAULT_MAX_LEN) -> Tokenizer:
    """The tokenizer whose vocabulary covers every caption of these classes."""
    return Tokenizer.from_texts([c for per_class in class_captions(class_names)
                                 for c in per_class], max_len)


def class_prompts(info: SourceInfo, tokenizer: Tokenizer) -> np.ndarray:
    """Tokens int32 [num_classes, num_templates, L] of every template for every class."""
    names = info.class_names or tuple(str(c) for c in range(info.num_classes))
    return np.stack([np.stack([tokenizer.encode(text) for text in per_class])
                     for per_class in class_captions(names)])


class CaptionSource:
    """A labelled source whose records gain ``"text": int32 [L]``, one fixed caption each.

    base: a source in the contract of ``data.sources``; template choices come from
    ``np.random.default_rng((seed, crc32(split)))``, so train and test differ and runs repeat.
    """

    def __init__(self, base, split: str, *, seed: int = 0, max_len: int = DEFAULT_MAX_LEN):
        info = base.info
        self.base = base
        self.info = dataclasses.replace(info, name=f"captions:{info.name}")
        self.tokenizer = tokenizer_for(self._names(info), max_len)
        self.prompts = class_prompts(info, self.tokenizer)      # [C, T, L]
        rng = np.random.default_rng((seed, zlib.crc32(split.encode())))
        self.template_index = rng.integers(0, self.prompts.shape[1], len(base))

    @staticmethod
    def _names(info: SourceInfo) -> tuple[str, ...]:
        return info.class_names or tuple(str(c) for c in range(info.num_classes))

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        record = dict(self.base[index])
        record["text"] = self.prompts[int(record["label"]), self.template_index[index]]
        return record

    def caption(self, index: int) -> str:
        """The caption of example ``index`` as words."""
        return self.tokenizer.decode(self[index]["text"])

    def as_arrays(self) -> dict[str, np.ndarray]:
        """All records at once (needs a base with ``as_arrays``), text: int32 [N, L]."""
        arrays = dict(self.base.as_arrays())
        arrays["text"] = self.prompts[arrays["label"], self.template_index]
        return arrays

    def __repr__(self) -> str:
        return f"CaptionSource({self.base!r}, vocab={self.tokenizer.vocab_size})"


def captions_source(base_name: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                    max_len: int = DEFAULT_MAX_LEN) -> CaptionSource:
    """``captions:<base_name>``: the registered source ``base_name`` with one caption per image."""
    from contrastive_jax.data.sources import build_source

    base = build_source(base_name, split, data_dir=data_dir, seed=seed)
    return CaptionSource(base, split, seed=seed, max_len=max_len)
