"""Text views: each rule against a NumPy reference applied to the same sampled choices, plus
invariants (padding stays at the end, lengths, the trailing eot kept)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from contrastive_jax.data import augment_text as at

EOT = 2


def batch(seed=0, rows=16, width=12, eot=True):
    """Rows of random lengths 0..width, ids 3..49, an eot at the end of most rows."""
    rng = np.random.default_rng(seed)
    out = np.zeros((rows, width), np.int32)
    for r in range(rows):
        length = int(rng.integers(0, width + 1)) if r else width
        out[r, :length] = rng.integers(3, 50, length)
        if eot and length and r % 4:
            out[r, length - 1] = EOT
    return out


def split(row):
    """(content list, has_eot) of a NumPy row."""
    real = [int(t) for t in row if t != 0]
    has_eot = bool(real) and real[-1] == EOT
    return (real[:-1] if has_eot else real), has_eot


def pack(content, has_eot, width):
    content = content[:width - int(has_eot)]
    out = content + ([EOT] if has_eot else [])
    return out + [0] * (width - len(out))


def assert_padded_at_end(tokens):
    tokens = np.asarray(tokens)
    for row in tokens:
        nonzero = np.flatnonzero(row)
        assert len(nonzero) == 0 or nonzero[-1] == len(nonzero) - 1, row


def test_token_dropout_delete_and_mask_match_reference():
    tokens = batch(1)
    drop = np.random.default_rng(2).random(tokens.shape) < 0.3
    deleted = np.asarray(jax.jit(at.apply_token_dropout)(tokens, drop))
    masked = np.asarray(at.apply_token_dropout(tokens, drop, mode="mask"))
    for row, d, out_del, out_mask in zip(tokens, drop, deleted, masked):
        content, has_eot = split(row)
        kept = [t for t, dd in zip(content, d) if not dd]
        assert list(out_del) == pack(kept, has_eot, len(row))
        masked_content = [1 if dd else t for t, dd in zip(content, d)]
        assert list(out_mask) == pack(masked_content, has_eot, len(row))
    assert_padded_at_end(deleted)


def test_word_repetition_matches_reference_and_keeps_eot():
    tokens = batch(3)
    repeat = at.word_repetition_choices(jax.random.key(0), tokens, dup_rate=0.32)
    out = np.asarray(jax.jit(at.apply_word_repetition)(tokens, repeat))
    repeat = np.asarray(repeat)
    for row, rep, got in zip(tokens, repeat, out):
        content, has_eot = split(row)
        assert not rep[len(content):].any()  # only content tokens are repeated
        longer = [t for t, r in zip(content, rep) for _ in range(1 + int(r))]
        assert list(got) == pack(longer, has_eot, len(row))
        # ESimCSE's count: at most max(2, floor(0.32 len)) tokens repeated
        assert rep.sum() <= max(2, int(np.floor(0.32 * len(content))))
    assert_padded_at_end(out)
    assert repeat.sum() > 0


def test_word_repetition_counts_cover_the_range():
    tokens = np.tile(np.arange(3, 23, dtype=np.int32), (400, 1))  # content length 20
    repeat = np.asarray(at.word_repetition_choices(jax.random.key(1), tokens, dup_rate=0.32,
                                                   eot_id=None))
    counts = repeat.sum(axis=1)
    assert set(counts) == set(range(0, 7))  # U{0..floor(6.4)=6}
    assert abs(repeat.mean(axis=0) - repeat.mean()).max() < 0.1  # positions uniform


def test_random_crop_matches_reference():
    tokens = batch(4)
    start, span = at.random_crop_choices(jax.random.key(2), tokens, min_ratio=0.1,
                                         max_ratio=0.5)
    out = np.asarray(jax.jit(at.apply_random_crop)(tokens, start, span))
    for row, s, n, got in zip(tokens, np.asarray(start), np.asarray(span), out):
        content, has_eot = split(row)
        if content:
            assert 1 <= n <= len(content) and 0 <= s <= len(content) - n
        assert list(got) == pack(content[s:s + n], has_eot, len(row))
    assert_padded_at_end(out)


def test_random_crop_span_ratio():
    tokens = np.tile(np.arange(3, 103, dtype=np.int32), (500, 1))  # length 100
    _, span = at.random_crop_choices(jax.random.key(3), tokens, min_ratio=0.1, max_ratio=0.5,
                                     eot_id=None)
    span = np.asarray(span)
    assert span.min() >= 10 and span.max() <= 50 and abs(span.mean() - 30) < 2


def test_public_functions_jit_keep_shape_and_eot():
    tokens = jnp.asarray(batch(5))
    key = jax.random.key(4)
    for fn in (at.token_dropout, at.word_repetition, at.random_crop):
        out = np.asarray(jax.jit(fn)(key, tokens))
        assert out.shape == tokens.shape and out.dtype == np.int32
        assert_padded_at_end(out)
        for row, got in zip(np.asarray(tokens), out):
            _, has_eot = split(row)
            assert split(got)[1] == has_eot  # the trailing eot survives every view
    with pytest.raises(ValueError, match="integer token ids"):
        at.random_crop(key, jnp.zeros((2, 3), jnp.float32))
    with pytest.raises(ValueError, match="min_ratio"):
        at.random_crop(key, tokens, min_ratio=0.6, max_ratio=0.5)
