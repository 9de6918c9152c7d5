"""Line boxes -> word boxes, by the blank columns of the ink between words.

Our recognizer reads words (its charset has no space), so a detector trained on text LINES (PP-OCR as published,
SROIE's line annotations) needs its lines cut into words:

* :func:`split_line` (training data): a line with a known transcript of n words is cut at its n - 1 widest blank
  runs, provided each lies near where the character counts put it; otherwise None.
* :func:`split_at_gaps` (inference): a line without transcript is cut at every blank run at least ``gap_ratio``
  times the line's height wide (a space is about a third of the text height; letters sit much closer).

Both rectify the line quad to an upright strip and profile its ink columns (ink = the minority class after Otsu).
"""
from __future__ import annotations

import cv2
import numpy as np

from ocrpipe.geometry import order_corners


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True values, end exclusive."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2], edges[1::2]))


def _ink_columns(crop: np.ndarray) -> np.ndarray:
    """Per column of an upright line crop: does it hold ink? Ink = the minority class after Otsu thresholding."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    _, dark = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ink = dark if dark.mean() <= 0.5 else 1 - dark
    return ink.sum(axis=0) > max(1, 0.04 * crop.shape[0])


def _strip(image: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(ink columns, crop -> image homography, width, height) of a line quad rectified to an upright strip."""
    quad = order_corners(quad)
    width = max(2, round(float(np.hypot(*(quad[1] - quad[0])))))
    height = max(2, round(float(np.hypot(*(quad[3] - quad[0])))))
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    to_crop = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop = cv2.warpPerspective(image, to_crop, (width, height), borderMode=cv2.BORDER_REPLICATE)
    return _ink_columns(crop), np.linalg.inv(to_crop), width, height


def _pieces(back: np.ndarray, height: int, spans: list[tuple[float, float]]) -> list[np.ndarray]:
    """Strip column spans -> quads in image coordinates."""
    pieces = []
    for x0, x1 in spans:
        corners = np.float32([[[x0, 0], [x1, 0], [x1, height], [x0, height]]])
        pieces.append(cv2.perspectiveTransform(corners, back)[0].astype(np.float64))
    return pieces


def split_line(image: np.ndarray, polygon: np.ndarray, text: str) -> list[np.ndarray] | None:
    """Word quads of a line quad whose transcript has several words; None when the ink does not fit the words."""
    words = text.split()
    if len(words) < 2:
        return [polygon]
    if len(polygon) != 4:
        return None
    ink, back, _, height = _strip(image, polygon)
    if not ink.any():
        return None
    first, last = np.flatnonzero(ink)[[0, -1]]
    gaps = [(s, e) for s, e in _runs(~ink) if s > first and e <= last]
    if len(gaps) < len(words) - 1:
        return None
    cuts = sorted(sorted(gaps, key=lambda g: g[1] - g[0], reverse=True)[:len(words) - 1])
    # Where the character counts put each space, on the ink's extent; each cut must lie within ~2 characters.
    char_width = (last + 1 - first) / len(" ".join(words))
    expected = first + char_width * (np.cumsum([len(w) + 1 for w in words[:-1]]) - 0.5)
    if any(abs((s + e) / 2 - x) > 2.5 * char_width for (s, e), x in zip(cuts, expected)):
        return None
    starts = [first] + [e for _, e in cuts]
    ends = [s for s, _ in cuts] + [last + 1]
    return _pieces(back, height, list(zip(starts, ends)))


def split_at_gaps(image: np.ndarray, quad: np.ndarray, gap_ratio: float = 0.35,
                  margin: float = 0.15) -> list[np.ndarray]:
    """A detected line quad cut into word quads at blank runs >= ``gap_ratio`` x its height; [quad] if none.

    The outer ends stay where the detector put them; each cut edge keeps ``margin`` x height of the gap (at most
    half of it) as the unclipped detector boxes do. Tall quads (vertical text) are left whole.
    """
    if len(quad) != 4:
        return [quad]
    ink, back, width, height = _strip(image, quad)
    if not ink.any() or width < 2 * height:
        return [quad]
    first, last = np.flatnonzero(ink)[[0, -1]]
    gaps = [(s, e) for s, e in _runs(~ink) if s > first and e <= last and e - s >= gap_ratio * height]
    if not gaps:
        return [quad]
    spans, start = [], 0.0
    for s, e in gaps:
        keep = min(margin * height, (e - s) / 2)
        spans.append((start, s + keep))
        start = e - keep
    spans.append((start, float(width)))
    return _pieces(back, height, spans)
