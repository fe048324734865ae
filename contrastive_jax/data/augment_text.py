"""On-device views of token-id batches for unsupervised sentence-embedding methods.

Every function takes an explicit ``jax.random`` key and a batch ``tokens: int32 [B, L]`` whose
rows are real tokens followed by padding (``pad_id``, 0), and returns a batch of the same shape
and dtype, padding still at the end. All are jittable (shapes are static; the varying lengths are
handled with scatters into a fixed [B, L] array).

End of text. With ``eot_id`` set (2, the id ``sentences:stdlib`` ends every record with) a row
whose last real token is ``eot_id`` keeps exactly one trailing eot: the rule applies to the
content before it and the eot is written back right after the new content (so a row that was
truncated to L keeps its eot). ``eot_id=None`` treats every real token as content.

* ``token_dropout``: each content token is deleted (``mode="delete"``, the rest shift left) or
  replaced by ``mask_id`` (``mode="mask"``, 1 = unk by default) with probability ``rate``.
* ``word_repetition``: ESimCSE's length-changing positive: per row draw
  ``n ~ U{0, .., max(2, floor(dup_rate * len))}`` and repeat ``n`` distinct random content tokens
  in place (token ``t`` becomes ``t t``); tokens pushed past L are cut (length kept by
  truncation). "ESimCSE: Enhanced Sample Building Method for Contrastive Learning of
  Unsupervised Sentence Embedding", Wu et al., 2022 (dup_rate 0.32 for BERT-base).
* ``random_crop``: Contriever's independent cropping: per row a contiguous span of
  ``round(r * len)`` content tokens (at least 1), ``r ~ U[min_ratio, max_ratio]``, at a uniform
  random start, moved to the front and re-padded. "Unsupervised Dense Information Retrieval
  with Contrastive Learning", Izacard et al., 2022 (the released code's ratio_min 0.1,
  ratio_max 0.5).

Each function is split into a sampling step (``*_choices``: the random choices as arrays) and a
deterministic rule (``apply_*``), so tests can apply a NumPy reference to the same choices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

PAD_ID, UNK_ID, EOT_ID = 0, 1, 2


def _check_tokens(tokens) -> None:
    if tokens.ndim != 2 or not jnp.issubdtype(tokens.dtype, jnp.integer):
        raise ValueError(f"text views take integer token ids [B, L], got {tokens.dtype} "
                         f"{tokens.shape}.")


def content_lengths(tokens: jax.Array, *, pad_id: int = PAD_ID,
                    eot_id: int | None = EOT_ID) -> tuple[jax.Array, jax.Array]:
    """``(content length [B], has_eot bool [B])``: real tokens before a trailing ``eot_id``."""
    length = jnp.sum(tokens != pad_id, axis=-1)
    last = jnp.take_along_axis(tokens, jnp.maximum(length - 1, 0)[:, None], axis=1)[:, 0]
    has_eot = (length > 0) & (last == eot_id) if eot_id is not None else jnp.zeros_like(
        length, bool)
    return length - has_eot.astype(length.dtype), has_eot


def _scatter_rows(values, positions, length, *, pad_id, has_eot, eot_id, new_length):
    """Write ``values[b, i]`` at ``positions[b, i]`` (positions >= limit dropped), pad the rest,
    then the eot (if the row had one) at ``min(new_length, L - 1)``."""
    batch, width = values.shape[0], length
    limit = width - has_eot.astype(jnp.int32)
    positions = jnp.where(positions < limit[:, None], positions, width)  # width: dropped
    rows = jnp.broadcast_to(jnp.arange(batch)[:, None], positions.shape)
    out = jnp.full((batch, width), pad_id, values.dtype)
    out = out.at[rows, positions].set(values, mode="drop")
    if eot_id is not None:
        eot_at = jnp.where(has_eot, jnp.minimum(new_length, width - 1), width)
        out = out.at[jnp.arange(batch), eot_at].set(jnp.asarray(eot_id, values.dtype),
                                                    mode="drop")
    return out


# --- token dropout / masking ---------------------------------------------------------------


def apply_token_dropout(tokens: jax.Array, drop: jax.Array, *, mode: str = "delete",
                        pad_id: int = PAD_ID, mask_id: int = UNK_ID,
                        eot_id: int | None = EOT_ID) -> jax.Array:
    """``drop: bool [B, L]`` marks content tokens to delete or mask (other positions ignored)."""
    content, has_eot = content_lengths(tokens, pad_id=pad_id, eot_id=eot_id)
    is_content = jnp.arange(tokens.shape[1])[None] < content[:, None]
    drop = drop & is_content
    if mode == "mask":
        return jnp.where(drop, jnp.asarray(mask_id, tokens.dtype), tokens)
    keep = is_content & ~drop
    positions = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, tokens.shape[1])
    return _scatter_rows(tokens, positions, tokens.shape[1], pad_id=pad_id, has_eot=has_eot,
                         eot_id=eot_id, new_length=jnp.sum(keep, axis=1))


def token_dropout(rng: jax.Array, tokens: jax.Array, *, rate: float = 0.1,
                  mode: str = "delete", pad_id: int = PAD_ID, mask_id: int = UNK_ID,
                  eot_id: int | None = EOT_ID) -> jax.Array:
    """Delete (``mode="delete"``) or mask (``"mask"``) each content token with prob. ``rate``.

    Args:
      rng: a ``jax.random`` key.
      tokens: int [B, L], padding (``pad_id``) at the end of each row.
      rate: probability of dropping each content token (default 0.1).
      mode: "delete" (the rest shift left, re-padded) or "mask" (replaced by ``mask_id``).
      pad_id, mask_id, eot_id: the special ids (0, 1 = unk, 2; ``eot_id=None``: none).

    Returns:
      int [B, L] with the same dtype.
    """
    _check_tokens(tokens)
    if mode not in ("delete", "mask"):
        raise ValueError(f"token_dropout mode must be 'delete' or 'mask', got {mode!r}.")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"token_dropout rate must be in [0, 1), got {rate}.")
    drop = jax.random.bernoulli(rng, rate, tokens.shape)
    return apply_token_dropout(tokens, drop, mode=mode, pad_id=pad_id, mask_id=mask_id,
                               eot_id=eot_id)


# --- ESimCSE word repetition ---------------------------------------------------------------


def word_repetition_choices(rng: jax.Array, tokens: jax.Array, *, dup_rate: float = 0.32,
                            pad_id: int = PAD_ID, eot_id: int | None = EOT_ID) -> jax.Array:
    """bool [B, L]: which content tokens are repeated (ESimCSE's sampling, see module doc)."""
    count_rng, pick_rng = jax.random.split(rng)
    content, _ = content_lengths(tokens, pad_id=pad_id, eot_id=eot_id)
    high = jnp.maximum(2, jnp.floor(dup_rate * content).astype(jnp.int32))
    count = jnp.minimum(jax.random.randint(count_rng, content.shape, 0, high + 1), content)
    is_content = jnp.arange(tokens.shape[1])[None] < content[:, None]
    scores = jnp.where(is_content, jax.random.uniform(pick_rng, tokens.shape), 2.0)
    rank = jnp.argsort(jnp.argsort(scores, axis=1), axis=1)  # a uniform random order
    return is_content & (rank < count[:, None])


def apply_word_repetition(tokens: jax.Array, repeat: jax.Array, *, pad_id: int = PAD_ID,
                          eot_id: int | None = EOT_ID) -> jax.Array:
    """Each content token with ``repeat`` True appears twice in a row; cut at L (eot kept)."""
    content, has_eot = content_lengths(tokens, pad_id=pad_id, eot_id=eot_id)
    width = tokens.shape[1]
    is_content = jnp.arange(width)[None] < content[:, None]
    copies = jnp.where(is_content, 1 + (repeat & is_content).astype(jnp.int32), 0)
    first = jnp.cumsum(copies, axis=1) - copies
    first = jnp.where(is_content, first, 2 * width)
    second = jnp.where(copies == 2, first + 1, 2 * width)
    values = jnp.concatenate([tokens, tokens], axis=1)
    positions = jnp.concatenate([first, second], axis=1)
    new_length = jnp.minimum(jnp.sum(copies, axis=1), width - has_eot.astype(jnp.int32))
    return _scatter_rows(values, positions, width, pad_id=pad_id, has_eot=has_eot,
                         eot_id=eot_id, new_length=new_length)


def word_repetition(rng: jax.Array, tokens: jax.Array, *, dup_rate: float = 0.32,
                    pad_id: int = PAD_ID, eot_id: int | None = EOT_ID) -> jax.Array:
    """ESimCSE's word repetition: duplicate a random subset of each row's tokens in place.

    Args:
      rng: a ``jax.random`` key.
      tokens: int [B, L], padding at the end.
      dup_rate: the most tokens repeated is ``max(2, floor(dup_rate * len))`` (0.32, the
        paper's best for BERT-base).
      pad_id, eot_id: the special ids (0, 2; ``eot_id=None``: none).

    Returns:
      int [B, L]: the rows lengthened by the repeats, cut at L (the eot, if any, kept last).
    """
    _check_tokens(tokens)
    if dup_rate < 0:
        raise ValueError(f"word_repetition dup_rate must be >= 0, got {dup_rate}.")
    repeat = word_repetition_choices(rng, tokens, dup_rate=dup_rate, pad_id=pad_id,
                                     eot_id=eot_id)
    return apply_word_repetition(tokens, repeat, pad_id=pad_id, eot_id=eot_id)


# --- Contriever random crop ----------------------------------------------------------------


def random_crop_choices(rng: jax.Array, tokens: jax.Array, *, min_ratio: float = 0.1,
                        max_ratio: float = 0.5, pad_id: int = PAD_ID,
                        eot_id: int | None = EOT_ID) -> tuple[jax.Array, jax.Array]:
    """``(start [B], span length [B])`` of each row's crop (see module doc)."""
    ratio_rng, start_rng = jax.random.split(rng)
    content, _ = content_lengths(tokens, pad_id=pad_id, eot_id=eot_id)
    ratio = jax.random.uniform(ratio_rng, content.shape, minval=min_ratio, maxval=max_ratio)
    span = jnp.clip(jnp.round(ratio * content).astype(jnp.int32), jnp.minimum(content, 1),
                    content)
    start = jnp.floor(jax.random.uniform(start_rng, content.shape)
                      * (content - span + 1)).astype(jnp.int32)
    return jnp.minimum(start, content - span), span


def apply_random_crop(tokens: jax.Array, start: jax.Array, span: jax.Array, *,
                      pad_id: int = PAD_ID, eot_id: int | None = EOT_ID) -> jax.Array:
    """Content tokens ``start .. start + span - 1`` of each row, moved to the front."""
    _, has_eot = content_lengths(tokens, pad_id=pad_id, eot_id=eot_id)
    offset = jnp.arange(tokens.shape[1])[None] - start[:, None]
    positions = jnp.where((offset >= 0) & (offset < span[:, None]), offset, tokens.shape[1])
    return _scatter_rows(tokens, positions, tokens.shape[1], pad_id=pad_id, has_eot=has_eot,
                         eot_id=eot_id, new_length=span)


def random_crop(rng: jax.Array, tokens: jax.Array, *, min_ratio: float = 0.1,
                max_ratio: float = 0.5, pad_id: int = PAD_ID,
                eot_id: int | None = EOT_ID) -> jax.Array:
    """Contriever's random crop: a contiguous span of a random ratio of each row's length.

    Args:
      rng: a ``jax.random`` key.
      tokens: int [B, L], padding at the end.
      min_ratio, max_ratio: the span is ``round(r * len)`` tokens (at least 1),
        ``r ~ U[min_ratio, max_ratio]`` (0.1, 0.5: Contriever's released defaults).
      pad_id, eot_id: the special ids (0, 2; ``eot_id=None``: none).

    Returns:
      int [B, L]: the span first, then the eot if the row had one, then padding.
    """
    _check_tokens(tokens)
    if not 0.0 < min_ratio <= max_ratio <= 1.0:
        raise ValueError(f"random_crop needs 0 < min_ratio <= max_ratio <= 1, got "
                         f"{min_ratio}, {max_ratio}.")
    start, span = random_crop_choices(rng, tokens, min_ratio=min_ratio, max_ratio=max_ratio,
                                      pad_id=pad_id, eot_id=eot_id)
    return apply_random_crop(tokens, start, span, pad_id=pad_id, eot_id=eot_id)
