"""``composites:<source>``: two-digit images with order / attribute captions and their swaps.

    DATASETS.build("composites:mnist5k", "train")   # 28x28x1 images of two digits

Each image shows two different digits of the labelled source (the first of the pair is image
``i`` of the split, the second a seeded random image of another class, both from the same
split, so train and test composites never share a digit image), each shrunk and placed in one
half of a 28x28 canvas. Two kinds of composite:

* ``"order"``: both digits large (14x14); caption ``"a 3 left of a 7"``, hard negative
  ``"a 7 left of a 3"`` (the two digits swapped).
* ``"attribute"``: one digit small (7x7), the other large (14x14), in random halves;
  caption ``"a small 3 and a large 7"`` (the digits mentioned in random order), hard negative
  ``"a large 3 and a small 7"`` (the two size words swapped).

Records: ``image`` uint8 [28, 28, 1], ``label`` int32 (``10 * left digit + right digit``, 100
classes, read left to right, so a probe must see the order), ``text`` and ``text_negative``
int32 [L] (the negative holds the caption's own words with two of them swapped: NegCLIP's
word-order / attribute swaps), ``kind`` int32 (0 order, 1 attribute). The vocabulary is fixed
(``VOCABULARY``). Everything is drawn from ``np.random.default_rng((seed, crc32(split)))``:
the same (source, split, seed, kinds) gives the same records.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from contrastive_jax.data.captions import Tokenizer
from contrastive_jax.data.sources import SourceInfo

KINDS = ("order", "attribute")
VOCABULARY = ("a", "and", "large", "left", "of", "small") + tuple(str(d) for d in range(10))
MAX_LEN = 8
CANVAS = 28
LARGE, SMALL = 14, 7


def order_caption(left: int, right: int) -> tuple[str, str]:
    """``("a L left of a R", "a R left of a L")``: the caption and its word-order swap."""
    return f"a {left} left of a {right}", f"a {right} left of a {left}"


def attribute_caption(small: int, large: int, small_first: bool) -> tuple[str, str]:
    """``("a small S and a large L", "a large S and a small L")`` (or mentioning the large
    digit first): the caption and its attribute swap."""
    if small_first:
        return f"a small {small} and a large {large}", f"a large {small} and a small {large}"
    return f"a large {large} and a small {small}", f"a small {large} and a large {small}"


def shrink(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 [28, 28] -> [size, size] by block averaging (size divides 28)."""
    factor = image.shape[0] // size
    blocks = image.reshape(size, factor, size, factor).astype(np.float32)
    return np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)


def compose(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two shrunk digits (uint8 [s, s]) centred in the left and right halves of a 28x28
    canvas: uint8 [28, 28, 1]."""
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    half = CANVAS // 2
    for digit, x0 in ((left, 0), (right, half)):
        size = digit.shape[0]
        top, offset = (CANVAS - size) // 2, (half - size) // 2
        canvas[top:top + size, x0 + offset:x0 + offset + size] = digit
    return canvas[..., None]


class CompositeSource:
    """Two-digit composites of a labelled 28x28 single-channel source (see the module doc).

    base: a source in the contract of ``data.sources`` (``mnist5k``); ``kinds``: ``"both"``
    (default, each composite's kind drawn at random), ``"order"`` or ``"attribute"``.
    ``caption(i)`` / ``negative_caption(i)`` give the words.
    """

    has_negatives = True  # records carry "text_negative" (evaluate.order_accuracy reads it)

    def __init__(self, base, split: str, *, seed: int = 0, kinds: str = "both"):
        info = base.info
        if tuple(info.image_shape) != (CANVAS, CANVAS, 1):
            raise ValueError(f"composites:{info.name}: needs 28x28x1 digit images, got "
                             f"{info.image_shape}.")
        if kinds not in ("both",) + KINDS:
            raise ValueError(f"composites: kinds must be 'both', 'order' or 'attribute', "
                             f"got {kinds!r}.")
        self.base = base
        names = tuple(f"{a}{b}" for a in range(10) for b in range(10))
        self.info = dataclasses.replace(info, name=f"composites:{info.name}", num_classes=100,
                                        class_names=names)
        self.tokenizer = Tokenizer(VOCABULARY, MAX_LEN)
        labels = np.array([int(base[i]["label"]) for i in range(len(base))])
        rng = np.random.default_rng((seed, zlib.crc32(split.encode())))
        n = len(base)
        # The partner: a random image of a different class (uniform over the other images).
        self.partner = np.empty(n, np.int64)
        for i in range(n):
            others = np.flatnonzero(labels != labels[i])
            self.partner[i] = others[rng.integers(len(others))]
        kind = {"order": 0, "attribute": 1}
        self.kind = (rng.integers(0, 2, n) if kinds == "both"
                     else np.full(n, kind[kinds])).astype(np.int32)
        self.first_on_left = rng.integers(0, 2, n).astype(bool)  # which digit goes left
        self.first_small = rng.integers(0, 2, n).astype(bool)    # attribute: which is small
        self.small_first = rng.integers(0, 2, n).astype(bool)    # attribute: mention order
        self.digits = labels

    def __len__(self) -> int:
        return len(self.base)

    def _layout(self, index: int):
        """``(left index, right index, left size, right size, caption, negative)``."""
        first, second = index, int(self.partner[index])
        left, right = (first, second) if self.first_on_left[index] else (second, first)
        a, b = int(self.digits[left]), int(self.digits[right])
        if self.kind[index] == 0:
            return left, right, LARGE, LARGE, *order_caption(a, b)
        first_small = bool(self.first_small[index])
        small, large = (first, second) if first_small else (second, first)
        sizes = {small: SMALL, large: LARGE}
        caption = attribute_caption(int(self.digits[small]), int(self.digits[large]),
                                    bool(self.small_first[index]))
        return left, right, sizes[left], sizes[right], *caption

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        index = int(index)
        left, right, left_size, right_size, caption, negative = self._layout(index)
        image = compose(shrink(self.base[left]["image"][..., 0], left_size),
                        shrink(self.base[right]["image"][..., 0], right_size))
        label = 10 * int(self.digits[left]) + int(self.digits[right])
        return {"image": image, "label": np.int32(label),
                "text": self.tokenizer.encode(caption),
                "text_negative": self.tokenizer.encode(negative),
                "kind": np.int32(self.kind[index])}

    def caption(self, index: int) -> str:
        """The caption of composite ``index`` as words."""
        return self._layout(int(index))[4]

    def negative_caption(self, index: int) -> str:
        """Its hard negative (the swapped caption) as words."""
        return self._layout(int(index))[5]

    def __repr__(self) -> str:
        return f"CompositeSource({self.base!r}, vocab={self.tokenizer.vocab_size})"


def composites_source(base_name: str, split: str, *, data_dir: str | None = None,
                      seed: int = 0, kinds: str = "both") -> CompositeSource:
    """``composites:<base_name>``: two-digit composites of the registered source ``base_name``
    (28x28x1 digits, e.g. ``mnist5k``) with captions and hard negative captions."""
    from contrastive_jax.data.sources import build_source

    base = build_source(base_name, split, data_dir=data_dir, seed=seed)
    return CompositeSource(base, split, seed=seed, kinds=kinds)
