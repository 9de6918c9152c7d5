"""hOCR 1.2 of one page: well-formed XHTML that hocr-spec, hocr-check and OCRmyPDF's reader accept.

Tree: div.ocr_page > div.ocr_carea > p.ocr_par > span.ocr_line > span.ocrx_word — one carea with one paragraph per
block, single-token classes, an integer `bbox` on every element, `x_wconf` 0-100 on words, `textangle` on lines
that are not upright. Ids follow Tesseract's pattern (`page_1`, `block_1_3`, `par_1_3`, `line_1_7`, `word_1_42`).
"""
from __future__ import annotations

import re
from html import escape
from itertools import count

import ocrpipe
from ocrpipe.export.boxes import pixel_bbox
from ocrpipe.layout import mean_angle
from ocrpipe.types import BBox, Line, Page, Word

# Every class and capability this writer can emit; validators reject anything used but not listed here.
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not allowed in XML 1.0 text

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
  <meta name="ocr-system" content="ocrpipe {version}" />
  <meta name="ocr-capabilities" content="{capabilities}" />
  <meta name="ocr-number-of-pages" content="1" />
  <meta name="ocr-langs" content="unknown" />
  <meta name="ocr-scripts" content="unknown" />
 </head>
 <body>
"""
_TAIL = """ </body>
</html>
"""


def to_hocr(page: Page) -> str:
    """The page as an hOCR document (a string ending in a newline)."""
    number = page.page_index + 1
    line_ids = (f"line_{number}_{n}" for n in count(1))
    word_ids = (f"word_{number}_{n}" for n in count(1))
    out = [_HEAD.format(title=_text(page.source or "ocrpipe"), version=_text(ocrpipe.__version__),
                        capabilities=CAPABILITIES),
           f'  <div class="ocr_page" id="page_{number}" title="{_attr(_page_title(page))}">\n']
    for block_number, block in enumerate(page.blocks, start=1):
        title = _attr(_bbox(block.bbox, page))
        out.append(f'   <div class="ocr_carea" id="block_{number}_{block_number}" title="{title}">\n'
                   f'    <p class="ocr_par" id="par_{number}_{block_number}" title="{title}">\n')
        for line in block.lines:
            out.append(f'     <span class="ocr_line" id="{next(line_ids)}" title="{_attr(_line_title(line, page))}">')
            for word in line.words:
                out.append(f'\n      <span class="ocrx_word" id="{next(word_ids)}" '
                           f'title="{_attr(_word_title(word, page))}">{_text(word.text)}</span>')
            out.append("\n     </span>\n")
        out.append("    </p>\n   </div>\n")
    out.append("  </div>\n" + _TAIL)
    return "".join(out)


def _page_title(page: Page) -> str:
    """`image "path"; bbox 0 0 W H; ppageno N`; the image is left out when there is no path, or one that the
    title syntax cannot hold (a `"` or `;` in it)."""
    properties = [f"bbox 0 0 {int(page.width)} {int(page.height)}", f"ppageno {int(page.page_index)}"]
    image = page.source.replace("\\", "/")  # hOCR wants UNIX paths
    if image and '"' not in image and ";" not in image:
        properties.insert(0, f'image "{image}"')
    return "; ".join(properties)


def _line_title(line: Line, page: Page) -> str:
    angle = round(mean_angle(line.words) % 360.0, 1) % 360.0  # upright lines get no textangle
    if angle == 0:
        return _bbox(line.bbox, page)
    return f"{_bbox(line.bbox, page)}; textangle {angle:g}"


def _word_title(word: Word, page: Page) -> str:
    confidence = min(max(round(float(word.confidence) * 100), 0), 100)
    return f"{_bbox(word.bbox, page)}; x_wconf {confidence}"


def _bbox(bbox: BBox, page: Page) -> str:
    return "bbox {} {} {} {}".format(*pixel_bbox(bbox, page.width, page.height))


def _text(text: str) -> str:
    """Text escaped for XML, with characters XML cannot hold dropped."""
    return escape(_NOT_XML.sub("", text), quote=False)


def _attr(text: str) -> str:
    """Text escaped for a double-quoted XML attribute."""
    return escape(_NOT_XML.sub("", text), quote=True)
