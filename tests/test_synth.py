"""Synthetic data generator: text sampling, fonts, word crops, detection scenes, data set writers.

Works with whatever fonts are installed (DejaVu at least); `scripts/install_fonts.sh` gives the full set.
"""
from __future__ import annotations

import json
import pickle
import string

import numpy as np
import pytest
from PIL import Image, ImageFont

from ocrpipe.synth.datasets import contact_sheet, write_det_dataset, write_rec_dataset
from ocrpipe.synth.fonts import (FontInfo, discover_fonts, group_families, load_fonts, missing_glyphs,
                                 split_fonts, superfamily)
from ocrpipe.synth.render import WordRenderer, draw_text, render_word
from ocrpipe.synth.scene import SceneRenderer
from ocrpipe.synth.text import CHARSET, MAX_LEN, TextSampler, is_valid_label, reference_number


@pytest.fixture(scope="module")
def all_fonts() -> list[FontInfo]:
    fonts = discover_fonts()
    if not fonts:
        pytest.skip("no usable fonts installed (run scripts/install_fonts.sh)")
    return fonts


@pytest.fixture(scope="module")
def few_fonts(all_fonts) -> list[FontInfo]:
    """A handful of training fonts from different families, to keep rendering tests fast."""
    train, _ = split_fonts(all_fonts)
    return [members[0] for members in list(group_families(train).values())[:6]]


@pytest.fixture(scope="module")
def sampler() -> TextSampler:
    return TextSampler.from_system()


@pytest.fixture(scope="module")
def dejavu() -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", 32)
    except OSError:
        pytest.skip("DejaVuSans.ttf not installed")


# ---------------------------------------------------------------------------------------------------- text

def test_charset_is_the_94_printable_characters():
    assert CHARSET == string.digits + string.ascii_lowercase + string.ascii_uppercase + string.punctuation
    assert not any(c.isspace() for c in CHARSET)


@pytest.mark.parametrize("words", ["system", "none"])
def test_words_respect_charset_length_and_no_whitespace(sampler, words):
    s = sampler if words == "system" else TextSampler()
    rng = np.random.default_rng(0)
    labels = [s.word(rng) for _ in range(3000)]
    bad = [t for t in labels if not (is_valid_label(t) and 1 <= len(t) <= MAX_LEN)]
    assert not bad
    assert len(set(labels)) > 2000  # varied
    assert any(t.isupper() for t in labels) and any(t.islower() for t in labels)
    assert any(any(c.isdigit() for c in t) for t in labels)
    assert any(any(c in string.punctuation for c in t) for t in labels)


def test_reference_numbers_are_long_receipt_identifiers():
    rng = np.random.default_rng(3)
    ids = [reference_number(rng) for _ in range(500)]
    assert all(is_valid_label(t) and 8 <= len(t) <= MAX_LEN for t in ids)
    assert sum(len(t) >= 13 for t in ids) > 250  # the lengths the receipts' invoice and barcode numbers have
    assert any(t.isdigit() for t in ids) and any(t[0].isalpha() and t[-1].isdigit() for t in ids)
    assert any("-" in t for t in ids) and any("/" in t for t in ids)


def test_text_is_deterministic_per_seed(sampler):
    a = [sampler.word(np.random.default_rng(7)) for _ in range(3)]
    b = [sampler.word(np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    line = sampler.line(np.random.default_rng(1), 12, prose=True)
    assert len(line) == 12 and all(is_valid_label(w) for w in line)


# ---------------------------------------------------------------------------------------------------- fonts

def test_missing_glyphs_detects_tofu(dejavu):
    assert missing_glyphs(dejavu, "a&Z9") == ""
    assert missing_glyphs(dejavu, "a\u4e00b\u4e01") == "\u4e00\u4e01"  # CJK ideographs: DejaVu draws .notdef


def test_training_fonts_render_the_alphabet_without_tofu(all_fonts):
    train, _ = split_fonts(all_fonts)
    alnum = string.ascii_letters + string.digits
    for info in train:
        missing = missing_glyphs(info.load(24), alnum)
        assert not missing, (info.path, missing)
        assert set(info.missing) <= set(string.punctuation)


def test_train_and_validation_families_are_disjoint(all_fonts):
    train, val = split_fonts(all_fonts)
    assert train
    assert not {superfamily(f.family) for f in train} & {superfamily(f.family) for f in val}
    if len(group_families(all_fonts)) >= 2:
        assert val
    assert load_fonts("val") and load_fonts("train")


def test_font_dir_option(tmp_path, all_fonts):
    assert discover_fonts([tmp_path], cache_dir=tmp_path / "cache") == []
    (tmp_path / "f.ttf").write_bytes(open(all_fonts[0].path, "rb").read())
    found = discover_fonts([tmp_path], cache_dir=tmp_path / "cache")
    assert [f.family for f in found] == [all_fonts[0].family]


# ---------------------------------------------------------------------------------------------------- word crops

def ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(image.min(axis=2) < 128)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def test_plain_render_has_sensible_ink_box(dejavu):
    image, label = render_word(None, "Hello", dejavu, augment=False)
    assert label == "Hello" and image.dtype == np.uint8 and image.shape[2] == 3
    x0, y0, x1, y1 = ink_box(image)
    assert 0.6 * 32 < y1 - y0 < 1.2 * 32  # cap height + descender-free word ≈ font size
    assert 2 * (y1 - y0) < x1 - x0 < 5 * (y1 - y0)  # 5 letters
    longer, _ = render_word(None, "Hello-World", dejavu, augment=False)
    assert ink_box(longer)[2] - ink_box(longer)[0] > 1.8 * (x1 - x0)
    # the text polygon is the ink box
    ti = draw_text(dejavu, "Hello")
    assert np.allclose(ti.polygon[0], [x0, y0]) and np.allclose(ti.polygon[2], [x1, y1])


def test_word_renderer_is_deterministic(few_fonts, sampler):
    r = WordRenderer(seed=3, fonts=few_fonts, sampler=sampler)
    for i in range(20):
        a, ta = r.sample(i)
        b, tb = WordRenderer(seed=3, fonts=few_fonts, sampler=sampler).sample(i)
        assert ta == tb and np.array_equal(a, b)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and min(a.shape[:2]) >= 4
        assert is_valid_label(ta)
    worker_copy = pickle.loads(pickle.dumps(r))  # as a DataLoader worker gets it
    assert np.array_equal(worker_copy.sample(5)[0], r.sample(5)[0])
    other = WordRenderer(seed=4, fonts=few_fonts, sampler=sampler)
    assert any(not np.array_equal(r.sample(i)[0], other.sample(i)[0]) for i in range(5))
    assert r.sample(1)[1] != r.sample(2)[1] or not np.array_equal(r.sample(1)[0], r.sample(2)[0])


def test_crops_are_mostly_recogniser_sized(few_fonts, sampler):
    r = WordRenderer(seed=0, fonts=few_fonts, sampler=sampler)
    heights = [r.sample(i)[0].shape[0] for i in range(100)]
    assert 20 <= np.median(heights) <= 70


# ---------------------------------------------------------------------------------------------------- scenes

def signed_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def test_scene_polygons_inside_image_and_clockwise(few_fonts, sampler):
    r = SceneRenderer(seed=1, fonts=few_fonts, sampler=sampler)
    total = 0
    for i in range(6):
        image, instances = r.sample(i)
        h, w = image.shape[:2]
        assert image.dtype == np.uint8 and 640 <= w <= 1024 and 640 <= h <= 1024
        for inst in instances:
            assert set(inst) == {"polygon", "text", "ignore"}
            pts = np.array(inst["polygon"]).reshape(-1, 2)
            assert len(pts) >= 4 and len(inst["polygon"]) % 2 == 0
            assert (pts >= -0.5).all() and (pts[:, 0] <= w + 0.5).all() and (pts[:, 1] <= h + 0.5).all()
            if not inst["ignore"]:
                assert is_valid_label(inst["text"])
                assert signed_area(pts) > 0  # clockwise on screen (y down)
        total += len(instances)
    assert total > 0
    again, inst_again = SceneRenderer(seed=1, fonts=few_fonts, sampler=sampler).sample(5)
    assert np.array_equal(again, r.sample(5)[0]) and inst_again == r.sample(5)[1]


def test_write_datasets(tmp_path, few_fonts):
    labels = write_rec_dataset(tmp_path / "rec", 6, seed=0, fonts=few_fonts)
    rows = labels.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 6
    for row in rows:
        path, text = row.split("\t")
        assert (tmp_path / "rec" / path).is_file() and is_valid_label(text)

    count = write_det_dataset(tmp_path / "det", 2, seed=0, fonts=few_fonts)
    anns = sorted((tmp_path / "det" / "ann").glob("*.json"))
    assert len(anns) == 2 and count == sum(len(json.loads(a.read_text())["instances"]) for a in anns)
    for a in anns:
        ann = json.loads(a.read_text())
        assert set(ann) == {"image", "width", "height", "instances"}
        with Image.open(tmp_path / "det" / ann["image"]) as im:
            assert im.size == (ann["width"], ann["height"])
        assert a.stem == ann["image"].split("/")[-1].rsplit(".", 1)[0]


def test_contact_sheet(tmp_path, few_fonts, sampler):
    r = WordRenderer(seed=0, fonts=few_fonts, sampler=sampler)
    samples = [r.sample(i) for i in range(10)]
    path = contact_sheet([s[0] for s in samples], [s[1] for s in samples], tmp_path / "sheet.png", columns=4)
    with Image.open(path) as im:
        assert im.size[0] == 4 * 200 and im.size[1] > 0


def test_instances_mark_small_faint_and_cut_words_as_dont_care():
    from ocrpipe.synth.scene import Placed, instances

    def quad(x0, y0, x1, y1):
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)

    placed = [Placed(quad(10, 10, 60, 30), "ok", 0.5, 20), Placed(quad(10, 40, 30, 44), "tiny", 0.5, 4),
              Placed(quad(10, 50, 60, 70), "faint", 0.05, 20), Placed(quad(80, 10, 120, 30), "cut", 0.5, 20)]
    out = instances(placed, (100, 100), blur_sigma=0.0)
    assert [(i["text"], i["ignore"]) for i in out] == [("ok", False), ("tiny", True), ("faint", True), ("###", True)]
    cut = np.array(out[3]["polygon"]).reshape(-1, 2)
    assert cut[:, 0].max() <= 100 and signed_area(cut) > 0
    assert instances(placed[:1], (100, 100), blur_sigma=5.0)[0]["ignore"]  # blurred past reading
