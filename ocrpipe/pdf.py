"""PDF in: each page rendered to an RGB image with PDFium (pypdfium2), at a resolution chosen from its size.

A page is rendered at `DEFAULT_DPI` unless that would make its long side exceed `MAX_LONG_SIDE` pixels (posters,
drawings), when the resolution drops to fit; `dpi` overrides both. Every failure (not a PDF, damaged, encrypted,
no pages, a page too large) becomes an `InputError` naming the file.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ocrpipe.errors import InputError

PDF_MAGIC = b"%PDF-"
DEFAULT_DPI = 300  # the usual resolution for OCR of printed pages (A4: 2480 × 3508 px)
MAX_LONG_SIDE = 4000  # pixels: larger pages are rendered at a lower resolution
POINTS_PER_INCH = 72.0


def is_pdf(head: bytes) -> bool:
    """Whether a file starting with `head` is a PDF (the header may follow up to 1 KB of junk)."""
    return PDF_MAGIC in head[:1024]


def render_dpi(width_pt: float, height_pt: float, dpi: float | None = None) -> float:
    """The resolution to render a page of this size (PDF points) at."""
    if dpi is not None:
        return float(dpi)
    long_side_in = max(width_pt, height_pt, 1.0) / POINTS_PER_INCH
    return min(float(DEFAULT_DPI), MAX_LONG_SIDE / long_side_in)


def render_pages(data: bytes, name: str, max_pixels: int, dpi: float | None = None
                 ) -> Iterator[tuple[np.ndarray, float]]:
    """Yield (RGB uint8 H×W×3 image, dpi) for each page of the PDF held in `data`, one page at a time."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        message = str(error).lower()
        if "password" in message or "security" in message:
            raise InputError(name, "encrypted PDF (a password is needed to open it)") from None
        raise InputError(name, f"damaged or unreadable PDF ({_one_line(error)})") from None
    try:
        if len(document) == 0:
            raise InputError(name, "PDF has no pages")
        for index in range(len(document)):
            try:
                page = document[index]
            except pdfium.PdfiumError as error:
                raise InputError(name, f"cannot read page {index + 1} ({_one_line(error)})") from None
            try:
                width_pt, height_pt = page.get_size()
                resolution = render_dpi(width_pt, height_pt, dpi)
                scale = resolution / POINTS_PER_INCH
                pixels = round(width_pt * scale) * round(height_pt * scale)
                if pixels > max_pixels:
                    raise InputError(name, f"page {index + 1} too large at {resolution:.0f} dpi "
                                           f"({pixels / 1e6:.1f} MP, limit {max_pixels / 1e6:.1f} MP)")
                if pixels == 0:
                    raise InputError(name, f"page {index + 1} has no area")
                bitmap = page.render(scale=scale, may_draw_forms=True, rev_byteorder=True)  # RGB, not BGR
                yield np.ascontiguousarray(bitmap.to_numpy()[:, :, :3]), resolution
            except pdfium.PdfiumError as error:
                raise InputError(name, f"cannot render page {index + 1} ({_one_line(error)})") from None
            finally:
                page.close()
    finally:
        document.close()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:100]
