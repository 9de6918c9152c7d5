"""hOCR 1.2 of one input file (one `ocr_page` per page): well-formed XHTML that hocr-spec and OCRmyPDF's reader accept.

Tree: div.ocr_page > div.ocr_carea > p.ocr_par > span.ocr_line > span.ocrx_word — one carea with one paragraph per
block, single-token classes, an integer `bbox` on every element, `x_wconf` 0-100 on words. Lines carry a `baseline`
(whose slope is the tilt of a skewed line) or, turned 45° or more, a `textangle`. Ids follow Tesseract's pattern
(`page_1`, `block_1_3`, `par_1_3`, `line_1_7`, `word_1_42`). hocr-check's "mostly non-overlapping" test passes on
upright pages; on tilted pages the axis-aligned boxes of neighbouring lines overlap by nature, and lines are never
merged to hide that (`hocr-check --nooverlap`).
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape
from itertools import count

import ocrpipe
from ocrpipe.export.boxes import pixel_bbox
from ocrpipe.layout import line_angle
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
  <meta name="ocr-number-of-pages" content="{pages}" />
  <meta name="ocr-langs" content="unknown" />
  <meta name="ocr-scripts" content="unknown" />
 </head>
 <body>
"""
_TAIL = """ </body>
</html>
"""


def to_hocr(pages: Sequence[Page]) -> str:
    """The pages of one input file as an hOCR document, one `ocr_page` per page (a string ending in a newline)."""
    out = [_HEAD.format(title=_text(pages[0].source or "ocrpipe"), version=_text(ocrpipe.__version__),
                        capabilities=CAPABILITIES, pages=len(pages))]
    out += [_page(page) for page in pages]
    out.append(_TAIL)
    return "".join(out)


def _page(page: Page) -> str:
    number = page.page_index + 1
    line_ids = (f"line_{number}_{n}" for n in count(1))
    word_ids = (f"word_{number}_{n}" for n in count(1))
    out = [f'  <div class="ocr_page" id="page_{number}" title="{_attr(_page_title(page))}">\n']
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
    out.append("  </div>\n")
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
    """`bbox`, then `baseline slope intercept` for lines that read left to right (tilted or not), or `textangle`
    for lines turned further (sideways, upside down: 45° or more from upright)."""
    angle = line_angle(line)
    if abs(angle) < 45.0:
        return f"{_bbox(line.bbox, page)}; {_baseline(line, angle, page)}"
    return f"{_bbox(line.bbox, page)}; textangle {round(angle % 360.0, 1):g}"


def _baseline(line: Line, angle: float, page: Page) -> str:
    """hOCR's `baseline slope intercept`: the line through the bottom edges of the words at the line's angle, as
    y = slope · (x - x0) + intercept relative to the bottom-left corner (x0, y1) of the line's pixel bbox."""
    slope = -math.tan(math.radians(angle))  # counter-clockwise text rises to the right; image y points down
    bottoms = [point for word in line.words for point in word.polygon[2:4]]  # bottom-right, bottom-left corners
    x_mid = sum(x for x, _ in bottoms) / len(bottoms)
    y_mid = sum(y for _, y in bottoms) / len(bottoms)
    x0, _, _, y1 = pixel_bbox(line.bbox, page.width, page.height)
    intercept = y_mid + slope * (x0 - x_mid) - y1
    return f"baseline {round(slope, 4):g} {round(intercept)}"


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
