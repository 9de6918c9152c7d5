"""Exporters: the pages of one input file → JSON, hOCR or plain text (and a searchable PDF, `export.pdf`).

`FORMATS` maps each text output format name to (file extension, render function taking the file's pages in order
and returning the file's text).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ocrpipe.export.hocr import to_hocr
from ocrpipe.export.json import document_json, render_json, to_json
from ocrpipe.export.text import to_text
from ocrpipe.types import Page

FORMATS: dict[str, tuple[str, Callable[[Sequence[Page]], str]]] = {
    "json": (".json", render_json),
    "hocr": (".hocr", to_hocr),
    "txt": (".txt", to_text),
}

__all__ = ["FORMATS", "document_json", "render_json", "to_hocr", "to_json", "to_text"]
