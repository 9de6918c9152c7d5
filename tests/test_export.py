"""Exporters (JSON against its schema, hOCR against hocr-spec / hocr-check / xml.etree, text) and atomic writes."""
from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import ocrpipe
from ocrpipe.atomic import atomic_open, atomic_write_text
from ocrpipe.export import FORMATS, to_hocr, to_json, to_text
from ocrpipe.types import Block, Line, ModelInfo, Page, Word
from tests.validators import check_hocr_check, check_hocr_spec

SCHEMA_PATH = Path(ocrpipe.__file__).parent / "schema" / "ocrpipe-1.schema.json"
XHTML = "{http://www.w3.org/1999/xhtml}"


def box_word(text: str, x0: float, y0: float, x1: float, y1: float, confidence: float = 0.9,
             angle: float = 0.0) -> Word:
    return Word(text, confidence, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], [confidence] * len(text), angle)


def sample_page(source: str = "scans/a&b.png") -> Page:
    """Two blocks: a two-line paragraph and a sideways label; text that needs escaping; numpy numbers."""
    paragraph = Block([
        Line([box_word("OPEN", 10.26, 10.04, 60.5, 30), box_word("<24>", 70, 10, 110, 30, confidence=0.98765)]),
        Line([box_word('"HOURS" & more', 10, 35, 150, 55, confidence=np.float32(0.5))]),
    ])
    sideways = Block([Line([box_word("EXIT", 180, 20, 200, 90, confidence=1.0, angle=90.0)])])
    return Page(width=210, height=100, blocks=[paragraph, sideways], source=source, page_index=0,
                detector=ModelInfo("db-tiny", "ab" * 32), recognizer=ModelInfo("clip4str-tiny", "cd" * 32),
                timings_ms={"decode": np.float64(3.14159), "detect": 40.0})


def empty_page() -> Page:
    return Page(width=64, height=32, source="blank.png")


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


# ---------------------------------------------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize("make_page", [sample_page, empty_page])
def test_json_matches_the_schema(schema, make_page):
    rendered = FORMATS["json"][1]([make_page()])
    assert rendered.endswith("\n")
    jsonschema.validate(json.loads(rendered), schema, cls=jsonschema.Draft202012Validator)


def test_json_content_and_rounding():
    document = to_json(sample_page())
    assert document["schema"] == "ocrpipe/1"
    assert document["source"] == {"path": "scans/a&b.png", "page": 0, "width": 210, "height": 100}
    assert document["models"]["recognizer"] == {"name": "clip4str-tiny", "sha256": "cd" * 32}
    assert document["text"] == 'OPEN <24>\n"HOURS" & more\n\nEXIT'
    assert document["timings_ms"] == {"decode": 3.1, "detect": 40.0}
    first_line = document["blocks"][0]["lines"][0]
    assert first_line["text"] == "OPEN <24>" and first_line["bbox"] == [10, 10, 110, 30]
    open_word, second_word = first_line["words"]
    assert open_word["bbox"] == [10, 10, 61, 30]  # outward to whole pixels
    assert open_word["polygon"][0] == [10.3, 10.0]
    assert second_word["confidence"] == 0.9877 and second_word["char_confidences"][0] == 0.9877
    assert document["blocks"][1]["lines"][0]["words"][0]["angle"] == 90.0


def test_json_schema_is_strict(schema):
    document = to_json(sample_page())
    document["blocks"][0]["lines"][0]["words"][0]["extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def test_json_boxes_are_clipped_to_the_page():
    page = Page(width=50, height=40, blocks=[Block([Line([box_word("edge", -3.5, -1, 55, 42)])])])
    word = to_json(page)["blocks"][0]["lines"][0]["words"][0]
    assert word["bbox"] == [0, 0, 50, 40] and word["polygon"][0] == [-3.5, -1.0]


# ---------------------------------------------------------------------------------------------------------------
# hOCR


def title_properties(element: ET.Element) -> dict[str, str]:
    return dict(part.split(" ", 1) for part in element.get("title", "").split("; "))


def ints(value: str) -> list[int]:
    return [int(number) for number in value.split()]


def test_hocr_structure_and_properties():
    root = ET.fromstring(to_hocr([sample_page()]))
    metas = {meta.get("name"): meta.get("content") for meta in root.iter(f"{XHTML}meta") if meta.get("name")}
    assert len([m for m in root.iter(f"{XHTML}meta") if m.get("name") == "ocr-system"]) == 1
    assert len([m for m in root.iter(f"{XHTML}meta") if m.get("name") == "ocr-capabilities"]) == 1
    assert metas["ocr-system"] == f"ocrpipe {ocrpipe.__version__}"

    body = root.find(f"{XHTML}body")
    (page,) = list(body)
    assert (page.tag, page.get("class")) == (f"{XHTML}div", "ocr_page")
    page_props = title_properties(page)
    assert page_props == {"image": '"scans/a&b.png"', "bbox": "0 0 210 100", "ppageno": "0"}

    expected = [("div", "ocr_carea"), ("p", "ocr_par"), ("span", "ocr_line"), ("span", "ocrx_word")]
    used_classes, ids, words = set(), [], []

    def walk(element: ET.Element, depth: int, parent_box: list[int]) -> None:
        for child in element:
            tag, cls = expected[depth]
            assert (child.tag, child.get("class")) == (f"{XHTML}{tag}", cls)
            used_classes.add(cls)
            ids.append(child.get("id"))
            props = title_properties(child)
            box = ints(props["bbox"])
            assert len(box) == 4 and 0 <= box[0] <= box[2] <= 210 and 0 <= box[1] <= box[3] <= 100
            assert parent_box[0] <= box[0] and parent_box[1] <= box[1]
            assert box[2] <= parent_box[2] and box[3] <= parent_box[3]
            if cls == "ocrx_word":
                assert re.fullmatch(r"\d+", props["x_wconf"]) and 0 <= int(props["x_wconf"]) <= 100
                words.append((child.text, int(props["x_wconf"])))
            else:
                walk(child, depth + 1, box)

    walk(page, 0, ints(page_props["bbox"]))
    assert words == [("OPEN", 90), ("<24>", 99), ('"HOURS" & more', 50), ("EXIT", 100)]
    assert len(ids) == len(set(ids))
    assert used_classes | {"ocr_page"} <= set(metas["ocr-capabilities"].split())

    lines = [line for line in root.iter(f"{XHTML}span") if line.get("class") == "ocr_line"]
    assert [title_properties(line).get("textangle") for line in lines] == [None, None, "90"]


def test_hocr_of_an_empty_page_is_valid_xml_with_a_page():
    root = ET.fromstring(to_hocr([empty_page()]))
    pages = [div for div in root.iter(f"{XHTML}div") if div.get("class") == "ocr_page"]
    assert len(pages) == 1 and list(pages[0]) == []
    assert title_properties(pages[0])["bbox"] == "0 0 64 32"


def test_hocr_image_left_out_when_it_cannot_be_written():
    for source in ["", 'odd"name.png', "a;b.png"]:
        page = Page(width=10, height=10, source=source)
        div = next(d for d in ET.fromstring(to_hocr([page])).iter(f"{XHTML}div") if d.get("class") == "ocr_page")
        assert "image" not in title_properties(div)


def test_hocr_drops_characters_xml_cannot_hold():
    page = Page(width=50, height=50, blocks=[Block([Line([box_word("a\x00b\x1bc", 1, 1, 20, 10)])])])
    words = [s.text for s in ET.fromstring(to_hocr([page])).iter(f"{XHTML}span") if s.get("class") == "ocrx_word"]
    assert words == ["abc"]


@pytest.mark.parametrize("make_page", [sample_page, empty_page])
def test_hocr_passes_hocr_spec(tmp_path, make_page):
    path = tmp_path / "page.hocr"
    path.write_text(to_hocr([make_page()]), encoding="utf-8")
    check_hocr_spec(path)


@pytest.mark.parametrize("make_page", [sample_page, empty_page])
def test_hocr_passes_hocr_check(tmp_path, make_page):
    path = tmp_path / "page.hocr"
    path.write_text(to_hocr([make_page()]), encoding="utf-8")
    check_hocr_check(path)


def tilted_page(angle: float = 10.0) -> Page:
    """Two words on one line tilted `angle`° counter-clockwise, their bottom edges on the line y = 300 - tan·(x-100)."""
    slope = -math.tan(math.radians(angle))

    def word(text: str, x0: float, x1: float) -> Word:
        bottom = [(x, 300 + slope * (x - 100)) for x in (x0, x1)]
        up = (-20 * math.sin(math.radians(angle)), -20 * math.cos(math.radians(angle)))
        top = [(x + up[0], y + up[1]) for x, y in bottom]
        return Word(text, 0.9, [top[0], top[1], bottom[1], bottom[0]], [0.9] * len(text), angle)

    return Page(width=400, height=400, blocks=[Block([Line([word("tilted", 100, 180), word("line", 190, 240)])])])


def test_hocr_describes_a_tilted_line_by_its_baseline(tmp_path):
    root = ET.fromstring(to_hocr([tilted_page(10.0)]))
    (line,) = [span for span in root.iter(f"{XHTML}span") if span.get("class") == "ocr_line"]
    props = title_properties(line)
    assert "textangle" not in props
    slope, intercept = props["baseline"].split()
    x0, _, _, y1 = ints(props["bbox"])
    assert float(slope) == pytest.approx(-math.tan(math.radians(10.0)), abs=1e-3)
    # The baseline passes through the words' bottom edges: at x = 100 the bottom edge is at y = 300.
    assert y1 + int(intercept) + float(slope) * (100 - x0) == pytest.approx(300, abs=1.0)
    path = tmp_path / "tilted.hocr"
    path.write_text(to_hocr([tilted_page(10.0)]), encoding="utf-8")
    check_hocr_spec(path)


# ---------------------------------------------------------------------------------------------------------------
# Text and the format table


def test_text_blocks_separated_by_a_blank_line():
    assert to_text([sample_page()]) == 'OPEN <24>\n"HOURS" & more\n\nEXIT\n'
    assert to_text([empty_page()]) == ""


def test_formats_table():
    assert {name: extension for name, (extension, _) in FORMATS.items()} == {
        "json": ".json", "hocr": ".hocr", "txt": ".txt"}
    for _, render in FORMATS.values():
        assert isinstance(render([sample_page()]), str)


def two_page_document() -> list[Page]:
    first, second = sample_page("scan.pdf"), sample_page("scan.pdf")
    second.page_index, second.dpi = 1, 300.0
    return [first, second]


def test_multi_page_json_is_one_document_of_pages(schema):
    document = json.loads(FORMATS["json"][1](two_page_document()))
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["source"] == {"path": "scan.pdf", "pages": 2}
    assert [page["source"]["page"] for page in document["pages"]] == [0, 1]
    assert document["pages"][1]["source"]["dpi"] == 300.0 and "dpi" not in document["pages"][0]["source"]
    assert document["text"] == document["pages"][0]["text"] + "\f" + document["pages"][1]["text"]


def test_multi_page_hocr_has_one_ocr_page_per_page(tmp_path):
    path = tmp_path / "doc.hocr"
    path.write_text(to_hocr(two_page_document()), encoding="utf-8")
    root = ET.parse(path).getroot()
    pages = [div for div in root.iter(f"{XHTML}div") if div.get("class") == "ocr_page"]
    assert [(page.get("id"), title_properties(page)["ppageno"]) for page in pages] == [("page_1", "0"), ("page_2", "1")]
    metas = {meta.get("name"): meta.get("content") for meta in root.iter(f"{XHTML}meta")}
    assert metas["ocr-number-of-pages"] == "2"
    ids = [element.get("id") for element in root.iter() if element.get("id")]
    assert len(ids) == len(set(ids))
    check_hocr_spec(path)


def test_multi_page_text_has_a_form_feed_between_pages():
    one = to_text([sample_page()])
    assert to_text(two_page_document()) == one + "\f" + one
    assert to_text([empty_page(), sample_page()]) == "\f" + one


# ---------------------------------------------------------------------------------------------------------------
# Atomic writes


def test_atomic_write_creates_folders_and_replaces(tmp_path):
    path = tmp_path / "out" / "a" / "b.txt"
    atomic_write_text(path, "first\n")
    atomic_write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.txt"]


@pytest.mark.parametrize("failure", [RuntimeError("render failed"), KeyboardInterrupt()])
def test_failed_write_leaves_nothing_behind(tmp_path, failure):
    fresh, existing = tmp_path / "fresh.json", tmp_path / "existing.json"
    existing.write_text("old\n")
    for path in (fresh, existing):
        with pytest.raises(type(failure)):
            with atomic_open(path) as file:
                file.write(b"partial")
                raise failure
    assert not fresh.exists()
    assert existing.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.json"]  # no temporary file left

