"""PDF in (pages rendered with PDFium) and searchable PDF out (invisible text over the page image)."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from ocrpipe.errors import InputError
from ocrpipe.export.pdf import write_pdf
from ocrpipe.io import IMAGE_EXTENSIONS, load_page_images
from ocrpipe.pdf import DEFAULT_DPI, MAX_LONG_SIDE, render_dpi
from ocrpipe.types import Block, Line, Page, Word
from tests.test_cli import error_lines, ocrpipe
from tests.validators import check_hocr_spec, check_json

XHTML = "{http://www.w3.org/1999/xhtml}"


def pdf_of_images(path, images: list[np.ndarray], dpi: float = 300.0) -> None:
    """A PDF whose pages show `images`, each page sized so that `dpi` renders it back at the image's size."""
    document = pdfium.PdfDocument.new()
    for image in images:
        height, width = image.shape[:2]
        page = document.new_page(width * 72 / dpi, height * 72 / dpi)
        jpeg = io.BytesIO()
        Image.fromarray(image).save(jpeg, format="JPEG", quality=95)
        picture = pdfium.PdfImage.new(document)
        picture.load_jpeg(io.BytesIO(jpeg.getvalue()), inline=True)
        picture.set_matrix(pdfium.PdfMatrix().scale(width * 72 / dpi, height * 72 / dpi))
        page.insert_obj(picture)
        page.gen_content()
    document.save(str(path))


def within_a_pixel(sizes: list[tuple[int, int]], expected: list[tuple[int, int]]) -> bool:
    """Sizes equal up to one pixel (PDFium rounds rendered sizes up: a float error of 1e-9 adds a pixel)."""
    return len(sizes) == len(expected) and all(abs(a - b) <= 1 for size, other in zip(sizes, expected)
                                               for a, b in zip(size, other))


def stripes(width: int = 400, height: int = 200) -> np.ndarray:
    image = np.full((height, width, 3), 255, np.uint8)
    image[40:60, 50:350] = (200, 30, 30)
    return image


# --- reading ---------------------------------------------------------------------------------------------------
def test_pdf_pages_are_rendered_in_rgb_at_the_page_resolution(tmp_path):
    path = tmp_path / "two.pdf"
    pdf_of_images(path, [stripes(), stripes(300, 500)])
    pages = load_page_images(path)
    assert within_a_pixel([page.pixels.shape[:2] for page in pages], [(200, 400), (500, 300)])
    assert all(page.pixels.shape[2] == 3 and page.pixels.dtype == np.uint8 for page in pages)
    assert [page.dpi for page in pages] == [DEFAULT_DPI, DEFAULT_DPI]
    red = pages[0].pixels[50, 200]
    assert red[0] > 150 and red[2] < 80  # RGB order, not BGR
    assert within_a_pixel([page.pixels.shape[:2] for page in load_page_images(path, pdf_dpi=150)],
                          [(100, 200), (250, 150)])
    assert ".pdf" in IMAGE_EXTENSIONS


def test_large_pages_are_rendered_at_a_lower_resolution():
    assert render_dpi(595, 842) == DEFAULT_DPI  # A4
    poster_dpi = render_dpi(33.1 * 72, 46.8 * 72)  # A0
    assert poster_dpi < DEFAULT_DPI and 46.8 * poster_dpi == pytest.approx(MAX_LONG_SIDE)
    assert render_dpi(33.1 * 72, 46.8 * 72, dpi=100) == 100


def test_a_pdf_is_recognised_by_its_header_not_its_name(tmp_path):
    path = tmp_path / "scan.jpg"
    pdf_of_images(path, [stripes()])
    assert len(load_page_images(path)) == 1


@pytest.mark.parametrize("kind, reason", [("encrypted", "encrypted PDF"), ("broken", "damaged or unreadable PDF"),
                                          ("truncated", "damaged or unreadable PDF")])
def test_bad_pdfs_give_one_line_errors(tmp_path, kind, reason):
    path = tmp_path / f"{kind}.pdf"
    if kind == "encrypted":
        with pikepdf.new() as pdf:
            pdf.add_blank_page()
            pdf.save(path, encryption=pikepdf.Encryption(owner="owner", user="secret"))
    elif kind == "broken":
        path.write_bytes(b"%PDF-1.7\n this is not a PDF body\n")
    else:
        whole = tmp_path / "whole.pdf"
        pdf_of_images(whole, [stripes()])
        path.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(InputError) as error:
        load_page_images(path)
    assert str(error.value).startswith(f"{path}: {reason}")
    assert "\n" not in str(error.value)


def test_a_page_over_the_pixel_limit_is_refused(tmp_path):
    path = tmp_path / "big.pdf"
    pdf_of_images(path, [stripes()])
    with pytest.raises(InputError, match="page 1 too large"):
        load_page_images(path, max_pixels=10_000)


# --- writing ---------------------------------------------------------------------------------------------------
def word(text: str, x0: float, y0: float, x1: float, y1: float, angle: float = 0.0) -> Word:
    """A word box turned `angle`° counter-clockwise about its bottom-left corner."""
    theta = math.radians(angle)

    def turn(x: float, y: float) -> tuple[float, float]:
        u, v = x - x0, y - y1
        return (x0 + u * math.cos(theta) + v * math.sin(theta), y1 - u * math.sin(theta) + v * math.cos(theta))

    return Word(text, 0.9, [turn(x0, y0), turn(x1, y0), turn(x1, y1), turn(x0, y1)], [], angle)


def test_searchable_pdf_places_each_word_over_its_box(tmp_path):
    words = [word("Invoice", 50, 50, 250, 100), word("TOTAL", 300, 50, 420, 100), word("12.50", 100, 300, 260, 340, 20)]
    page = Page(width=600, height=400, blocks=[Block([Line([w]) for w in words])], dpi=150.0)
    buffer = io.BytesIO()
    write_pdf([page, page], [stripes(600, 400)] * 2, buffer)

    document = pdfium.PdfDocument(buffer.getvalue())
    assert len(document) == 2
    first = document[0]  # (closed with the document when the test ends)
    assert first.get_size() == pytest.approx((600 * 72 / 150, 400 * 72 / 150))
    text = first.get_textpage()
    assert text.get_text_range().split() == ["Invoice", "TOTAL", "12.50"]
    scale = 72 / 150
    for expected in words[:2]:  # each upright word's box holds exactly that word
        x0, y0, x1, y1 = expected.bbox
        found = text.get_text_bounded(x0 * scale, (400 - y1) * scale, x1 * scale, (400 - y0) * scale)
        assert found.strip() == expected.text
    # The turned word's characters run along its baseline: the last one is higher on the page than the first.
    chars = [i for i in range(text.count_chars()) if text.get_text_range(i, 1) in "12.50"][-5:]
    first_box, last_box = text.get_charbox(chars[0]), text.get_charbox(chars[-1])
    assert last_box[1] > first_box[1] + 10
    # The text is invisible: the page renders as the image alone.
    rendered = first.render(scale=150 / 72, rev_byteorder=True).to_numpy()[:, :, :3]
    assert np.abs(rendered.astype(int) - stripes(600, 400)).mean() < 3


# --- the command -----------------------------------------------------------------------------------------------
def test_run_on_a_pdf_writes_one_document_per_input(tmp_path, shared):
    photos = sorted((shared / "data" / "e2e" / "sroie_dev" / "images").glob("*.jpg"))[:2]
    images = [np.asarray(Image.open(photo).convert("RGB")) for photo in photos]
    folder = tmp_path / "in"
    folder.mkdir()
    pdf_of_images(folder / "receipts.pdf", images)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n%%EOF garbage\n")
    out = tmp_path / "out"
    result = ocrpipe("run", str(folder), "-o", str(out), "-f", "json,hocr,txt,pdf", timeout=600)
    assert result.returncode == 3, result.stderr
    (error,) = error_lines(result.stderr)
    assert "broken.pdf: damaged or unreadable PDF" in error
    assert sorted(p.name for p in out.iterdir()) == ["receipts.hocr", "receipts.json", "receipts.pdf",
                                                     "receipts.txt"]

    document = json.loads((out / "receipts.json").read_text())
    check_json(document)
    assert document["source"]["pages"] == 2
    assert within_a_pixel([(p["source"]["width"], p["source"]["height"]) for p in document["pages"]],
                          [(image.shape[1], image.shape[0]) for image in images])
    words = [w["text"] for p in document["pages"] for b in p["blocks"] for line in b["lines"] for w in line["words"]]
    assert len(words) > 50
    assert (out / "receipts.txt").read_text().count("\f") == 1
    check_hocr_spec(out / "receipts.hocr")

    searchable = pdfium.PdfDocument(str(out / "receipts.pdf"))
    try:
        assert len(searchable) == 2
        layer = searchable[0].get_textpage().get_text_range().split()
    finally:
        searchable.close()
    first_page = [w["text"] for b in document["pages"][0]["blocks"] for line in b["lines"] for w in line["words"]]
    assert sorted(layer) == sorted(first_page)  # every word, as its own word (the viewer orders them its own way)
