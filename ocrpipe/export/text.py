"""Plain text of one page: lines in reading order, a blank line between blocks."""
from __future__ import annotations

from ocrpipe.types import Page


def to_text(page: Page) -> str:
    """The page's text with a trailing newline; an empty page gives an empty string."""
    return page.text + "\n" if page.blocks else ""
