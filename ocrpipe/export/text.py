"""Plain text of one input: lines in reading order, a blank line between blocks, a form feed between pages."""
from __future__ import annotations

from collections.abc import Sequence

from ocrpipe.types import Page


def to_text(pages: Sequence[Page]) -> str:
    """The pages' text, each non-empty page with a trailing newline, pages separated by a form feed (U+000C)."""
    return "\f".join(page.text + "\n" if page.blocks else "" for page in pages)
