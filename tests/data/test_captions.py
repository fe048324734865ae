"""Synthetic image-caption pairs, the word-level tokenizer and the zero-shot class prompts."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from contrastive_jax.data.captions import (
    PAD, UNKNOWN, CaptionSource, Tokenizer, captions_source, class_prompts, tokenizer_for)
from contrastive_jax.data.sources import ArraySource, SourceInfo
from contrastive_jax.registry import DATASETS

DIGITS = SourceInfo("d", (8, 8, 1), 10, tuple("0123456789"))


def test_tokenizer_round_trip_padding_and_unknown_words():
    tokenizer = Tokenizer(("digit", "of", "photo", "seven", "the"), max_len=6)
    tokens = tokenizer.encode("A photo of the digit SEVEN!")
    assert tokens.dtype == np.int32 and tokens.shape == (6,)
    # "a" is not in the vocabulary; ids are 2 + position in the sorted vocabulary
    np.testing.assert_array_equal(tokens, [UNKNOWN, 4, 3, 6, 2, 5])
    assert tokenizer.decode(tokens) == "<unk> photo of the digit seven"
    short = tokenizer.encode("the digit")
    np.testing.assert_array_equal(short, [6, 2, PAD, PAD, PAD, PAD])
    assert tokenizer.decode(short) == "the digit"
    assert tokenizer.vocab_size == 7


def test_vocabulary_covers_every_caption_and_truncates_long_text():
    tokenizer = tokenizer_for(DIGITS.class_names, max_len=4)
    prompts = class_prompts(DIGITS, tokenizer)
    assert prompts.shape == (10, 8, 4) and prompts.dtype == np.int32
    assert not np.any(prompts == UNKNOWN)
    assert tokenizer.decode(tokenizer.encode("a photo of the digit seven")) == "a photo of the"


def test_class_prompts_name_their_class():
    tokenizer = tokenizer_for(DIGITS.class_names)
    prompts = class_prompts(DIGITS, tokenizer)
    texts = [[tokenizer.decode(t) for t in per_class] for per_class in prompts]
    assert "a photo of the digit seven" in texts[7]
    assert "a handwritten 7" in texts[7]
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    for label, per_class in enumerate(texts):
        for text in per_class:
            assert words[label] in text.split() or str(label) in text.split()
    # no two classes share a prompt
    flat = prompts.reshape(-1, prompts.shape[-1])
    assert len({row.tobytes() for row in flat}) == flat.shape[0]


def test_generic_class_names_use_photo_templates():
    info = SourceInfo("f", (4, 4, 1), 2, ("T-shirt/top", "Ankle boot"))
    tokenizer = tokenizer_for(info.class_names)
    texts = [tokenizer.decode(t) for t in class_prompts(info, tokenizer)[1]]
    assert "a photo of a ankle boot" in texts
    assert tokenizer.decode(class_prompts(info, tokenizer)[0, 0]) == "a photo of a t shirt top"


def test_digits_caption_source_records_and_determinism():
    source = DATASETS.build("captions:digits", "train", data_dir=None, seed=0)
    record = source[5]
    assert record["text"].dtype == np.int32 and record["text"].shape == (16,)
    assert record["image"].shape == (8, 8, 1)
    assert source.info.name == "captions:digits" and source.info.num_classes == 10
    # each caption names its image's class
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    for index in range(0, len(source), 97):
        label, caption = int(source[index]["label"]), source.caption(index).split()
        assert words[label] in caption or str(label) in caption
    again = captions_source("digits", "train", seed=0)
    other_seed = captions_source("digits", "train", seed=1)
    np.testing.assert_array_equal(source.template_index, again.template_index)
    assert not np.array_equal(source.template_index, other_seed.template_index)
    assert len(np.unique(source.template_index)) == 8   # every template is used
    arrays = source.as_arrays()
    assert arrays["text"].shape == (len(source), 16)
    np.testing.assert_array_equal(arrays["text"][5], record["text"])


def test_captions_over_a_tfds_source():
    with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
        source = DATASETS.build("captions:tfds:fashion_mnist", "test", data_dir=None, seed=0)
        record = source[2]
    assert record["text"].shape == (16,)
    assert source.info.name == "captions:tfds:fashion_mnist"
    assert not np.any(source.prompts == UNKNOWN)


def test_caption_source_wraps_any_source():
    info = SourceInfo("tiny", (2, 2, 1), 2, ("cat", "dog"))
    base = ArraySource(np.zeros((4, 2, 2, 1), np.uint8), np.array([0, 1, 1, 0]), info)
    source = CaptionSource(base, "train", seed=3)
    assert source.caption(1).endswith("dog") or "dog" in source.caption(1).split()
    with pytest.raises(ValueError, match="unknown split"):
        captions_source("digits", "validation")
