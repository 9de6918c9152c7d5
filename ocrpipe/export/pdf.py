"""Searchable PDF out: each page image, with the words laid over it as invisible text (PDFium, via pypdfium2).

Each word is one text object in render mode "invisible", in the standard Helvetica font, stretched (scaled along and
across its baseline, turned by its angle) so that its glyph box covers the word's box on the image: selecting or
searching in a viewer hits the printed word. A page's size in points comes from its resolution (`Page.dpi`: the
render resolution of a PDF page, or what the image file records; `DEFAULT_DPI` otherwise). Images are embedded as
JPEG.
"""
from __future__ import annotations

import ctypes
import math
from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import BinaryIO

import cv2
import numpy as np

from ocrpipe.types import Page, Point, Word

DEFAULT_DPI = 300.0  # for images that record no resolution
JPEG_QUALITY = 85
FONT = b"Helvetica"
_FONT_SIZE = 10.0  # any size: every word is scaled to its box


def write_pdf(pages: Sequence[Page], images: Iterable[np.ndarray], file: BinaryIO) -> None:
    """Write the pages (with their RGB page images, in the same order) to `file` as one searchable PDF."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    document = pdfium.PdfDocument.new()
    try:
        font = pdfium_c.FPDFText_LoadStandardFont(document.raw, FONT)
        for page, image in zip(pages, images, strict=True):
            scale = 72.0 / (page.dpi or DEFAULT_DPI)  # points per pixel
            width_pt, height_pt = page.width * scale, page.height * scale
            pdf_page = document.new_page(width_pt, height_pt)
            picture = pdfium.PdfImage.new(document)
            picture.load_jpeg(BytesIO(_jpeg(image)), inline=True)
            picture.set_matrix(pdfium.PdfMatrix().scale(width_pt, height_pt))
            pdf_page.insert_obj(picture)
            for word in (word for block in page.blocks for line in block.lines for word in line.words):
                text_object = _invisible_word(pdfium_c, document.raw, font, word, scale, height_pt)
                if text_object is not None:
                    pdfium_c.FPDFPage_InsertObject(pdf_page.raw, text_object)
            pdf_page.gen_content()
            pdf_page.close()
        pdfium_c.FPDFFont_Close(font)
        document.save(file)
    finally:
        document.close()


def _jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError("cannot encode the page image as JPEG")
    return encoded.tobytes()


def _invisible_word(pdfium_c, document, font, word: Word, scale: float, height_pt: float):
    """A PDFium text object holding the word's text, invisible, placed over its box; None for an empty word.

    Every word carries a trailing space, outside its box (the box is fitted to the word alone), so that text
    extraction and search see "two words" and not "twowords" where the printed gap is narrow — also between the
    last word of one line and the first of another beside it at the same height (a receipt's "8:13:39" and "PM"
    put in two lines by the layout)."""
    text = word.text.strip()
    if not text or len(word.polygon) < 4:
        return None
    top_left, _, bottom_right, bottom_left = (_to_points(p, scale, height_pt) for p in _corners(word.polygon))
    length = math.dist(bottom_left, bottom_right)
    height = math.dist(bottom_left, top_left)
    if length <= 0 or height <= 0:
        return None
    text_object = pdfium_c.FPDFPageObj_CreateTextObj(document, font, _FONT_SIZE)
    _set_text(pdfium_c, text_object, text)
    pdfium_c.FPDFTextObj_SetTextRenderMode(text_object, pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE)
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    pdfium_c.FPDFPageObj_GetBounds(text_object, left, bottom, right, top)  # of the word alone
    if right.value <= left.value or top.value <= bottom.value:
        pdfium_c.FPDFPageObj_Destroy(text_object)
        return None
    _set_text(pdfium_c, text_object, text + " ")
    # glyph box [left, right] × [bottom, top] -> scaled to length × height, turned by the baseline's angle, moved to
    # the word's bottom-left corner.
    sx, sy = length / (right.value - left.value), height / (top.value - bottom.value)
    angle = math.atan2(bottom_right[1] - bottom_left[1], bottom_right[0] - bottom_left[0])
    cos, sin = math.cos(angle), math.sin(angle)
    e = bottom_left[0] - sx * left.value * cos + sy * bottom.value * sin
    f = bottom_left[1] - sx * left.value * sin - sy * bottom.value * cos
    pdfium_c.FPDFPageObj_Transform(text_object, sx * cos, sx * sin, -sy * sin, sy * cos, e, f)
    return text_object


def _set_text(pdfium_c, text_object, text: str) -> None:
    buffer = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
    pdfium_c.FPDFText_SetText(text_object, ctypes.cast(buffer, pdfium_c.FPDF_WIDESTRING))


def _corners(polygon: Sequence[Point]) -> list[Point]:
    """Top-left, top-right, bottom-right, bottom-left of a word polygon (a quad as ocrpipe writes them; longer
    polygons: their first two points and last two)."""
    return [polygon[0], polygon[1], polygon[-2], polygon[-1]] if len(polygon) > 4 else list(polygon[:4])


def _to_points(point: Point, scale: float, height_pt: float) -> tuple[float, float]:
    """An image pixel position in PDF points (origin bottom-left, y up)."""
    return (point[0] * scale, height_pt - point[1] * scale)
