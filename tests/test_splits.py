"""Validation splits: word crops are held out by source photo (group), never crop by crop."""
from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pytest

from ocrpipe.splits import CROP_BLOCK, CROP_MARGIN, crop_group, crop_side, keep, keep_crop
from ocrpipe.recognizer.data import VALIDATION_PERCENT, read_labels
from tests.conftest import SHARED

SHARED_REC = SHARED / "data" / "rec"  # next to the checkout, or /work/shared in a CI clone


def _sides_by_group(paths: list[str]) -> dict[str, set[str]]:
    sides = defaultdict(set)
    for path in paths:
        side = crop_side(path, VALIDATION_PERCENT)
        if side != "gap":
            sides[crop_group(path)].add(side)
    return sides


def test_crop_group_keys():
    assert crop_group("images/17.jpg") == crop_group("images/24.jpg") == "block:0"
    assert crop_group("images/25.jpg") == "block:1"
    assert crop_group("images/word_1.png") == "block:0"
    assert crop_group("images/word_4468.png") == f"block:{4468 // CROP_BLOCK}"
    assert crop_group("images/X51005361907_003_01.png") == "image:X51005361907"
    assert crop_group("images/060_012_00.png") == "image:060"
    assert crop_group("images/0000971160_120_00.png") == "image:0000971160"
    assert crop_group("images/crop-a.png") == "crop:images/crop-a.png"


def _numbered(n: int, prefix: str = "") -> list[str]:
    return [f"images/{prefix}{i}.png" for i in range(1, n + 1)]


def _image_crops(images: int, words: int = 12) -> list[str]:
    return [f"images/X{k:06d}_{i:03d}_{j:02d}.png" for k in range(images) for i in range(words) for j in range(2)]


@pytest.mark.parametrize("paths", [_numbered(2000), _numbered(4468, "word_"), _numbered(257), _image_crops(300)])
def test_no_group_on_both_sides_and_a_tenth_held_out(paths):
    sides = _sides_by_group(paths)
    assert all(len(s) == 1 for s in sides.values())
    val = sum(crop_side(p, VALIDATION_PERCENT) == "val" for p in paths)
    assert 0.06 * len(paths) <= val <= 0.14 * len(paths)


def test_numbered_sets_leave_a_margin_around_validation_blocks():
    paths = _numbered(4468, "word_")
    index = {p: int(Path(p).stem.split("_")[-1]) for p in paths}
    val = [index[p] for p in paths if crop_side(p, VALIDATION_PERCENT) == "val"]
    train = [index[p] for p in paths if crop_side(p, VALIDATION_PERCENT) == "train"]
    assert val and train
    assert min(abs(t - v) for t in train for v in val) > CROP_MARGIN
    # 1 block in 10: crops 225..249 of every 250
    assert sorted(val)[:2] == [9 * CROP_BLOCK, 9 * CROP_BLOCK + 1]


def test_split_is_stable_and_independent_of_order():
    paths = _numbered(600) + _image_crops(50)
    first = {p: crop_side(p, VALIDATION_PERCENT) for p in paths}
    shuffled = paths[:]
    random.Random(3).shuffle(shuffled)
    assert {p: crop_side(p, VALIDATION_PERCENT) for p in shuffled} == first
    # pinned values: a change of the split must be deliberate (it moves every reported number)
    assert crop_side("images/1.jpg", 10) == "train"
    assert crop_side("images/225.jpg", 10) == "val"
    assert crop_side("images/222.jpg", 10) == "gap"
    assert crop_side("images/word_254.png", 10) == "gap"
    assert crop_side("images/word_255.png", 10) == "train"


def test_image_groups_are_not_the_detector_split():
    """Crops are cut from the detector's train part (stems with keep(stem, "train", 33)); the crop split must not
    reuse that hash, or the crops' validation part would be empty."""
    stems = [f"{i:03d}" for i in range(500) if keep(f"{i:03d}", "train", 33)]
    held = [s for s in stems if crop_side(f"images/{s}_000_00.png", VALIDATION_PERCENT) == "val"]
    assert 0.05 * len(stems) <= len(held) <= 0.15 * len(stems)


def test_keep_crop_splits():
    paths = _numbered(500)
    train = {p for p in paths if keep_crop(p, "train", 10)}
    val = {p for p in paths if keep_crop(p, "val", 10)}
    assert not train & val
    assert all(keep_crop(p, "all", 10) for p in paths)
    with pytest.raises(ValueError):
        keep_crop(paths[0], "test", 10)


def test_read_labels_uses_the_group_split(tmp_path):
    rows = [f"images/X{k:03d}_{i:03d}_00.png\tw{k}\n" for k in range(80) for i in range(5)]
    (tmp_path / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    train = read_labels(tmp_path, "train")
    val = read_labels(tmp_path, "val")
    assert len(train) + len(val) == len(rows) == len(read_labels(tmp_path))
    assert val and {s.text for s in train}.isdisjoint({s.text for s in val})


@pytest.mark.skipif(not SHARED_REC.is_dir(), reason="no ../shared/data/rec")
@pytest.mark.parametrize("name", ["iiit5k_train", "ic15_train", "svt_train"])
def test_real_sets_split_by_group(name):
    directory = SHARED_REC / name
    train, val = read_labels(directory, "train"), read_labels(directory, "val")
    everything = read_labels(directory)
    assert 0.08 * len(everything) <= len(val) <= 0.12 * len(everything)
    assert len(train) + len(val) <= len(everything)
    groups = lambda samples: {crop_group(s.path.relative_to(directory).as_posix()) for s in samples}  # noqa: E731
    assert groups(train).isdisjoint(groups(val))
