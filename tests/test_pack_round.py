"""scripts/pack_round.py: the crop sets fit the travel budget by whole source images, and unpack to sets that train
and validate on the same crops as the originals."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from ocrpipe.recognizer.data import read_labels

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("pack_round", ROOT / "scripts" / "pack_round.py")
pack_round = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pack_round)


def _crop(stem: str, group: str, size: int) -> pack_round.Crop:
    return pack_round.Crop(stem, stem.upper(), group, bytes(size))


def test_share_budget_keeps_small_sets_whole_and_cuts_big_ones_to_one_level():
    cap = pack_round.share_budget([100, 1_000, 5_000], budget=2_100)
    assert cap == 1_000  # 100 + 1,000 + 1,000
    assert pack_round.share_budget([100, 200], budget=10_000) == 200  # everything fits


def test_cut_to_cap_keeps_whole_groups_in_a_fixed_order():
    crops = [_crop(f"img{g}_{i}", f"image:img{g}", 10) for g in range(20) for i in range(3)]
    kept = pack_round.cut_to_cap(crops, cap=95)
    assert len(kept) == 9  # three whole groups of 30 bytes
    groups = {c.group for c in kept}
    assert all(sum(c.group == g for c in kept) == 3 for g in groups)
    assert {c.group for c in pack_round.cut_to_cap(list(reversed(crops)), cap=95)} == groups


def test_packed_sets_unpack_to_the_same_labels_and_validation_split(tmp_path):
    source = tmp_path / "words"
    (source / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    for image in range(30):
        for word in range(2):
            name = f"images/scan{image:02d}_{word}_00.png"
            Image.fromarray(rng.integers(0, 255, (20, 60, 3), dtype=np.uint8)).save(source / name)
            lines.append(f"{name}\tw{image}x{word}")
    (source / "labels.tsv").write_text("\n".join(lines) + "\n")
    crop_set = pack_round.CropSet("words", source, caseless=True)

    crops = pack_round.encode_set(crop_set, quality=80)
    pack_round.write_crops(tmp_path / "crops.zip", {crop_set: crops})
    pack_round.unpack_crops(tmp_path / "crops.zip", tmp_path / "there")

    unpacked = tmp_path / "there" / "rec" / "caseless" / "words"
    for split in ("train", "val"):
        original = [(Path(s.path).stem, s.text) for s in read_labels(source, split)]
        assert [(Path(s.path).stem, s.text) for s in read_labels(unpacked, split)] == original
    assert read_labels(unpacked, "val")  # the 30 source images put some on the validation side
    first = read_labels(unpacked, "all")[0].path
    with Image.open(first) as image:
        assert image.format == "WEBP" and image.size == pack_round.INPUT_SIZE
