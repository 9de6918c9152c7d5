"""Charsets, label normalisation and the token ids of the CLIP4STR/PARSeq head.

Ids: EOS = 0, characters = 1..len(charset) in charset order, BOS = len+1, PAD = len+2. The head predicts
len(charset)+1 classes (EOS and the characters), never BOS or PAD. With the default 94-char charset this gives the
reference's EOS=0 / BOS=95 / PAD=96 and a 95-class head.
"""
from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

import torch

CHARSET_94 = string.printable[:94]  # digits, a-z, A-Z, punctuation (the reference's "94_full")
CHARSET_36 = string.digits + string.ascii_lowercase  # the STR benchmark protocol (case-insensitive)
CHARSET_62 = string.digits + string.ascii_lowercase + string.ascii_uppercase  # case-sensitive alphanumerics


class CharsetAdapter:
    """Maps a string onto a target charset: fold case when the charset has one case only, then drop the rest."""

    def __init__(self, charset: str):
        self.lowercase_only = charset == charset.lower()
        self.uppercase_only = charset == charset.upper()
        self.unsupported = re.compile(f"[^{re.escape(charset)}]")

    def __call__(self, text: str) -> str:
        if self.lowercase_only:
            text = text.lower()
        elif self.uppercase_only:
            text = text.upper()
        return self.unsupported.sub("", text)


def normalize_label(text: str, ascii_only: bool = True) -> str:
    """The reference's label filter before the charset: drop whitespace, then NFKD -> ASCII (for Latin scripts)."""
    text = "".join(text.split())
    if ascii_only:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return text


@dataclass(frozen=True)
class Tokenizer:
    """Encodes labels to id tensors and decodes head probabilities back to strings."""

    charset: str = CHARSET_94

    @property
    def eos_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return len(self.charset) + 1

    @property
    def pad_id(self) -> int:
        return len(self.charset) + 2

    @property
    def num_classes(self) -> int:
        """Size of the head's output: EOS + the characters."""
        return len(self.charset) + 1

    @property
    def vocab_size(self) -> int:
        """Rows of the decoder's token embedding: head classes + BOS + PAD."""
        return len(self.charset) + 3

    def case_partners(self) -> torch.Tensor:
        """[num_classes] ids: each head class's other-case letter (`a` <-> `A`), or the class itself when the
        charset has no such partner (digits, punctuation, EOS). Used by the case-insensitive training loss."""
        index = {c: i + 1 for i, c in enumerate(self.charset)}
        partners = list(range(self.num_classes))
        for c, i in index.items():
            partners[i] = index.get(c.swapcase(), i)
        return torch.tensor(partners, dtype=torch.long)

    def ids_to_text(self, ids: list[int]) -> str:
        return "".join(self.charset[i - 1] for i in ids if 1 <= i <= len(self.charset))

    def encode(self, labels: list[str], device: torch.device | str = "cpu") -> torch.Tensor:
        """[BOS] + ids + [EOS], right-padded with PAD to the longest label: [B, max_len + 2]."""
        index = {c: i + 1 for i, c in enumerate(self.charset)}
        rows = [[self.bos_id] + [index[c] for c in label] + [self.eos_id] for label in labels]
        width = max(len(r) for r in rows)
        padded = [r + [self.pad_id] * (width - len(r)) for r in rows]
        return torch.tensor(padded, dtype=torch.long, device=device)

    def decode_greedy(self, ids: torch.Tensor) -> list[str]:
        """Argmax ids [B, L] -> strings cut at the first EOS (no probabilities; used for captions)."""
        texts = []
        for row in ids.tolist():
            if self.eos_id in row:
                row = row[: row.index(self.eos_id)]
            texts.append(self.ids_to_text(row))
        return texts

    def decode(self, probs: torch.Tensor) -> tuple[list[str], list[torch.Tensor]]:
        """Probabilities [B, L, C] -> (strings, per-position max probabilities).

        As in the reference, each probability vector keeps the EOS position (len(text)+1 entries) and covers all L
        positions when no EOS was predicted.
        """
        max_probs, ids = probs.max(-1)
        texts, confidences = [], []
        for row_ids, row_probs in zip(ids.tolist(), max_probs):
            if self.eos_id in row_ids:
                end = row_ids.index(self.eos_id)
                texts.append(self.ids_to_text(row_ids[:end]))
                confidences.append(row_probs[: end + 1])
            else:
                texts.append(self.ids_to_text(row_ids))
                confidences.append(row_probs)
        return texts, confidences
