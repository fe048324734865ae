"""``composites:<source>``: two-digit images whose captions say what the image shows, hard
negatives that differ from the caption only by the swap, determinism and the source's split."""

import re

import numpy as np
import pytest
from skimage.transform import downscale_local_mean

from contrastive_jax.data import composites
from contrastive_jax.data.sources import mnist5k
from contrastive_jax.registry import DATASETS

CHECKED = range(0, 4000, 97)  # a spread of composites (about 40), both kinds


@pytest.fixture(scope="module")
def train():
    return DATASETS.build("composites:mnist5k", "train")


def halves(image):
    """The two 14-wide halves of a 28x28x1 composite."""
    return image[:, :14, 0], image[:, 14:, 0]


def placed(digit_image, size):
    """A 28x28 digit shrunk to ``size`` by skimage's block mean, centred in a 28x14 half."""
    small = np.round(downscale_local_mean(digit_image[..., 0].astype(np.float64),
                                          (28 // size, 28 // size))).astype(np.uint8)
    half = np.zeros((28, 14), np.uint8)
    top, left = (28 - size) // 2, (14 - size) // 2
    half[top:top + size, left:left + size] = small
    return half


def parse(caption):
    """``(left digit, right digit)`` for "a L left of a R"; ``{digit: size}`` for the
    attribute captions."""
    order = re.fullmatch(r"a (\d) left of a (\d)", caption)
    if order:
        return "order", (int(order[1]), int(order[2]))
    attribute = re.fullmatch(r"a (small|large) (\d) and a (small|large) (\d)", caption)
    assert attribute, caption
    assert {attribute[1], attribute[3]} == {"small", "large"}, caption
    return "attribute", {int(attribute[2]): attribute[1], int(attribute[4]): attribute[3]}


def test_records_shape_vocabulary_and_info(train):
    record = train[0]
    assert record["image"].shape == (28, 28, 1) and record["image"].dtype == np.uint8
    assert record["text"].shape == record["text_negative"].shape == (composites.MAX_LEN,)
    assert train.info.num_classes == 100 and train.info.image_shape == (28, 28, 1)
    assert train.tokenizer.vocab_size == len(composites.VOCABULARY) + 2
    assert len(train) == len(mnist5k("train"))
    kinds = np.array([train[i]["kind"] for i in CHECKED])
    assert set(kinds.tolist()) == {0, 1}


@pytest.mark.parametrize("split", ["train", "test"])
def test_captions_match_the_image_content(split, train):
    source = train if split == "train" else DATASETS.build("composites:mnist5k", "test")
    base = mnist5k(split)  # the composites' digits come from the same split
    for i in CHECKED if split == "train" else range(0, 1000, 41):
        record = source[i]
        caption = source.caption(i)
        assert train.tokenizer.decode(record["text"]) == caption
        kind, parsed = parse(caption)
        assert record["kind"] == (0 if kind == "order" else 1)
        partner = int(source.partner[i])
        digits = {int(base[i]["label"]), int(base[partner]["label"])}
        assert len(digits) == 2, "the two digits differ"
        left, right = halves(record["image"])
        # Which base image sits in which half, at which size: one of the two placements fits.
        fits = []
        for a, b in ((i, partner), (partner, i)):
            la, lb = int(base[a]["label"]), int(base[b]["label"])
            if kind == "order":
                sizes = (14, 14)
                ok = parsed == (la, lb)
            else:
                sizes = tuple(14 if parsed[d] == "large" else 7 for d in (la, lb))
                ok = set(parsed) == {la, lb}
            if ok and np.array_equal(left, placed(base[a]["image"], sizes[0])) and \
                    np.array_equal(right, placed(base[b]["image"], sizes[1])):
                fits.append((la, lb))
        assert len(fits) == 1, (i, caption)
        assert record["label"] == 10 * fits[0][0] + fits[0][1]


def test_negatives_differ_from_captions_only_by_the_swap(train):
    for i in CHECKED:
        text, negative = train[i]["text"], train[i]["text_negative"]
        differ = np.flatnonzero(text != negative)
        assert len(differ) == 2, (train.caption(i), train.negative_caption(i))
        p, q = differ
        assert text[p] == negative[q] and text[q] == negative[p]
        caption, swapped = train.caption(i).split(), train.negative_caption(i).split()
        kind, _ = parse(train.caption(i))
        swapped_words = {caption[p], caption[q]}
        if kind == "order":
            assert all(w.isdigit() for w in swapped_words)  # the two digits trade places
        else:
            assert swapped_words == {"small", "large"}  # the two size words trade places
        assert parse(" ".join(swapped))[0] == kind


def test_deterministic_and_seeded(train):
    again = DATASETS.build("composites:mnist5k", "train")
    other_seed = DATASETS.build("composites:mnist5k", "train", seed=1)
    for i in (0, 5, 1234):
        for key in ("image", "text", "text_negative", "label", "kind"):
            np.testing.assert_array_equal(train[i][key], again[i][key])
    assert any(train.caption(i) != other_seed.caption(i) for i in range(20))


@pytest.mark.parametrize("kinds, kind", [("order", 0), ("attribute", 1)])
def test_one_kind_only(kinds, kind):
    source = DATASETS.build("composites:mnist5k", "test", kinds=kinds)
    assert {int(source[i]["kind"]) for i in range(30)} == {kind}


def test_bad_arguments_say_what_is_valid():
    with pytest.raises(ValueError, match="kinds must be 'both', 'order' or 'attribute'"):
        DATASETS.build("composites:mnist5k", "test", kinds="colour")
    with pytest.raises(ValueError, match="needs 28x28x1 digit images"):
        DATASETS.build("composites:digits", "test")
