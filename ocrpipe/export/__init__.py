"""Exporters: one page → JSON, hOCR or plain text.

`FORMATS` maps each output format name to (file extension, render function returning the file's text).
"""
from __future__ import annotations

from collections.abc import Callable

from ocrpipe.export.hocr import to_hocr
from ocrpipe.export.json import render_json, to_json
from ocrpipe.export.text import to_text
from ocrpipe.types import Page

FORMATS: dict[str, tuple[str, Callable[[Page], str]]] = {
    "json": (".json", render_json),
    "hocr": (".hocr", to_hocr),
    "txt": (".txt", to_text),
}

__all__ = ["FORMATS", "render_json", "to_hocr", "to_json", "to_text"]
