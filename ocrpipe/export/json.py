"""The `ocrpipe/1` JSON of one input (schema: `ocrpipe/schema/ocrpipe-1.schema.json`): a page object for a
single-image input, a document object holding every page for a multi-page one (PDF, multi-page TIFF).

Boxes are whole pixels (`[x0, y0, x1, y1]`, clipped to the page); polygons keep 0.1 px; confidences 4 decimals;
angles 0.1 degree (page skew 0.01); timings 0.1 ms. Blocks, lines and words are listed in reading order.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ocrpipe.export.boxes import pixel_bbox
from ocrpipe.types import Block, Line, ModelInfo, Page, Word

SCHEMA = "ocrpipe/1"


def to_json(page: Page) -> dict[str, Any]:
    """The page as a JSON-ready dict (plain Python numbers, even if the page holds numpy ones)."""
    source = {"path": page.source, "page": int(page.page_index), "width": int(page.width), "height": int(page.height)}
    if page.dpi:
        source["dpi"] = round(float(page.dpi), 2)
    return {
        "schema": SCHEMA,
        "source": source,
        "models": {"detector": _model(page.detector), "recognizer": _model(page.recognizer)},
        "skew": round(float(page.skew), 2),
        "blocks": [_block(block, page) for block in page.blocks],
        "text": page.text,
        "timings_ms": {stage: round(float(ms), 1) for stage, ms in page.timings_ms.items()},
    }


def document_json(pages: Sequence[Page]) -> dict[str, Any]:
    """The JSON of one input file: its page object when it has one page, else a document of all its pages."""
    if len(pages) == 1:
        return to_json(pages[0])
    return {"schema": SCHEMA, "source": {"path": pages[0].source, "pages": len(pages)},
            "pages": [to_json(page) for page in pages], "text": "\f".join(page.text for page in pages)}


def render_json(pages: Sequence[Page]) -> str:
    """The input file's JSON as text: compact, UTF-8 characters kept, one trailing newline."""
    return json.dumps(document_json(pages), ensure_ascii=False, separators=(",", ":")) + "\n"


def _model(info: ModelInfo | None) -> dict[str, str] | None:
    return None if info is None else {"name": info.name, "sha256": info.sha256}


def _block(block: Block, page: Page) -> dict[str, Any]:
    return {"bbox": list(pixel_bbox(block.bbox, page.width, page.height)),
            "lines": [_line(line, page) for line in block.lines]}


def _line(line: Line, page: Page) -> dict[str, Any]:
    return {"bbox": list(pixel_bbox(line.bbox, page.width, page.height)),
            "text": line.text,
            "words": [_word(word, page) for word in line.words]}


def _word(word: Word, page: Page) -> dict[str, Any]:
    return {"text": word.text,
            "confidence": round(float(word.confidence), 4),
            "char_confidences": [round(float(c), 4) for c in word.char_confidences],
            "polygon": [[round(float(x), 1), round(float(y), 1)] for x, y in word.polygon],
            "bbox": list(pixel_bbox(word.bbox, page.width, page.height)),
            "angle": round(float(word.angle), 1)}
