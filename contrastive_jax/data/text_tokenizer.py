"""A byte-level BPE tokenizer trained offline on a corpus (Hugging Face ``tokenizers``).

    tokenizer = BpeTokenizer.train(captions, vocab_size=49_408, max_len=77)
    tokenizer.encode(["a dog on a beach"])          # int32 [1, 77]: ids, end-of-text, padding

CLIP's text side (Radford et al., 2021): lower-cased byte-level BPE, the sequence closed by an
end-of-text token whose feature the causal text transformer pools (``pool="last"`` takes the last
non-pad token), truncated to ``max_len`` keeping the end-of-text token. Id 0 pads (the text
encoders' ``pad_id``), id 1 is unknown, id 2 ends the text. Training is deterministic for the
same texts in the same order, so a train split and its test split (or a resumed run) rebuild
the same vocabulary; ``to_json`` / ``from_json`` store it.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np

PAD, UNKNOWN, END = "<pad>", "<unk>", "<eot>"
SPECIAL_TOKENS = (PAD, UNKNOWN, END)  # ids 0, 1, 2


def _new_bpe():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.BPE(unk_token=UNKNOWN))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


@dataclasses.dataclass(frozen=True)
class BpeTokenizer:
    """Texts -> int32 ``[N, max_len]`` token ids (see the module docstring for the id layout).

    Build with ``train`` (from texts) or ``from_json`` (a saved vocabulary)."""

    json: str  # the Hugging Face tokenizer, serialized
    max_len: int

    @classmethod
    def train(cls, texts: Iterable[str], *, vocab_size: int, max_len: int,
              min_frequency: int = 2) -> "BpeTokenizer":
        """Learn merges on ``texts`` until ``vocab_size`` ids (special tokens and the 256 bytes
        included) or no pair occurs ``min_frequency`` times."""
        from tokenizers import pre_tokenizers, trainers

        if max_len < 2:
            raise ValueError(f"max_len must be >= 2 (a token and end-of-text), got {max_len}.")
        tokenizer = _new_bpe()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tokenizer.train_from_iterator((str(text) for text in texts), trainer=trainer)
        return cls(tokenizer.to_str(), max_len)

    @classmethod
    def from_json(cls, json: str, *, max_len: int) -> "BpeTokenizer":
        return cls(json, max_len)

    @property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        cached = self.__dict__.get("_hf")
        if cached is None:
            cached = Tokenizer.from_str(self.json)
            object.__setattr__(self, "_hf", cached)  # frozen dataclass: cache, not state
        return cached

    @property
    def vocab_size(self) -> int:
        """Number of ids (the text embedding table's size)."""
        return self._tokenizer.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """int32 [N, max_len]: each text's ids (truncated to ``max_len - 1``), end-of-text, then
        padding."""
        end = self._tokenizer.token_to_id(END)
        out = np.zeros((len(texts), self.max_len), np.int32)
        for row, encoding in enumerate(self._tokenizer.encode_batch([str(t) for t in texts])):
            ids = encoding.ids[:self.max_len - 1] + [end]
            out[row, :len(ids)] = ids
        return out

    def decode(self, tokens: Sequence[int]) -> str:
        """The text of one row of ids ``[L]``, special tokens dropped."""
        ids = [int(t) for t in np.asarray(tokens) if int(t) >= len(SPECIAL_TOKENS)]
        return self._tokenizer.decode(ids).strip()
