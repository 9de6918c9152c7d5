"""Fixed train/validation splits of labelled data, decided by a hash of each item's name.

A hash (rather than position in a listing) keeps an item on the same side whatever order the files come in, so a
model never trains on what it is later measured on.
"""
from __future__ import annotations

import hashlib


def held_out(name: str, percent: int) -> bool:
    """True for the `percent` % of names that form the validation part."""
    digest = hashlib.sha1(name.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def keep(name: str, split: str, percent: int) -> bool:
    """Whether `name` belongs to `split` ("all", "train" or "val")."""
    if split not in ("all", "train", "val"):
        raise ValueError(f"split must be all, train or val, not {split!r}")
    return split == "all" or held_out(name, percent) == (split == "val")
