"""Fixed train/validation splits of labelled data.

Full-image sets (detector, end-to-end) are split per image by a hash of its stem (`keep`). Word-crop sets are split
per *group* of crops that share a source photo (`crop_group`, `crop_side`), never per crop: crops of one scene on
both sides let validation measure memory instead of reading (issue #22: IIIT5K validation 97.4% with a per-crop hash,
80.2% on the real test set).

Both are decided by the item's name alone, never by its position in a listing, so an item stays on the same side
whatever order the files come in.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from typing import Literal

Side = Literal["train", "val", "gap"]

CROP_BLOCK = 25  # numbered crop sets: crops per contiguous block of the original order
CROP_MARGIN = 5  # numbered crop sets: crops this close to a validation block are neither trained nor validated on

_NUMBERED = re.compile(r"(?:word_)?(\d+)")  # IIIT5K / SVT `17.jpg`, IC15 `word_17.png`
_FROM_IMAGE = re.compile(r"(.+)_\d+_\d+")  # scripts/word_crops_from_annotations.py: `<image stem>_<line>_<word>.png`


def held_out(name: str, percent: int) -> bool:
    """True for the `percent` % of names that form the validation part."""
    digest = hashlib.sha1(name.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def keep(name: str, split: str, percent: int) -> bool:
    """Whether `name` belongs to `split` ("all", "train" or "val"), by a hash of the name (full-image sets)."""
    _check_split(split)
    return split == "all" or held_out(name, percent) == (split == "val")


def crop_group(relative_path: str) -> str:
    """The group of a word crop (its path as written in `labels.tsv`): crops of one group share a source photo.

    * `<image stem>_<i>_<j>.<ext>` (crops cut by `scripts/word_crops_from_annotations.py`, e.g. SROIE, FUNSD):
      ``image:<image stem>``.
    * `<n>.<ext>` or `word_<n>.<ext>` (IIIT5K, SVT, IC15: crops numbered in the order of the benchmark's list, which
      walks through the source photos one after another): ``block:<n // CROP_BLOCK>``, a run of 25 neighbours.
    * anything else: the crop alone, ``crop:<relative path>``.
    """
    stem = PurePosixPath(relative_path).stem
    if match := _NUMBERED.fullmatch(stem):
        return f"block:{int(match.group(1)) // CROP_BLOCK}"
    if match := _FROM_IMAGE.fullmatch(stem):
        return f"image:{match.group(1)}"
    return f"crop:{relative_path}"


def _block_held_out(block: int, percent: int) -> bool:
    """Exactly `percent` of every 100 consecutive blocks, evenly spaced (10%: blocks 9, 19, 29, ...)."""
    return block >= 0 and (block * percent) // 100 != ((block + 1) * percent) // 100


def crop_side(relative_path: str, percent: int) -> Side:
    """"val" for the crops of the held-out groups (`percent` % of them), "train" for the rest, and "gap" for the crops
    of a numbered set that lie within `CROP_MARGIN` places of a held-out block (a photo whose words straddle a block
    boundary then never lands on both sides).

    Numbered sets hold out every (100 / percent)-th block, so the share is exact and spread over the whole list;
    groups of named source images are held out by a hash of the group key (``image:<stem>``: a different hash from
    the detector's split of the same stems, `keep`, so crops cut from its train part still have a validation part).
    """
    group = crop_group(relative_path)
    if group.startswith("block:"):
        n = int(_NUMBERED.fullmatch(PurePosixPath(relative_path).stem).group(1))
        if _block_held_out(n // CROP_BLOCK, percent):
            return "val"
        near = (n - CROP_MARGIN) // CROP_BLOCK, (n + CROP_MARGIN) // CROP_BLOCK
        return "gap" if any(_block_held_out(b, percent) for b in near) else "train"
    return "val" if held_out(group, percent) else "train"


def keep_crop(relative_path: str, split: str, percent: int) -> bool:
    """Whether a word crop belongs to `split` ("all", "train" or "val"); "all" includes the gap crops."""
    _check_split(split)
    return split == "all" or crop_side(relative_path, percent) == split


def _check_split(split: str) -> None:
    if split not in ("all", "train", "val"):
        raise ValueError(f"split must be all, train or val, not {split!r}")
