"""The document tree that flows out of the pipeline: Page > Block > Line > Word.

Coordinates are pixels of the original (EXIF-rotated) image, origin top-left. Polygons are lists of (x, y) points,
clockwise starting from the top-left corner of the text as it reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

Point = tuple[float, float]
BBox = tuple[float, float, float, float]  # x0, y0, x1, y1


def bbox_of(points: Sequence[Point]) -> BBox:
    """Axis-aligned box around a set of points."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def union_bbox(boxes: Sequence[BBox]) -> BBox:
    """Smallest box containing all the given boxes."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


@dataclass
class Region:
    """A text region found by a detector, before recognition."""

    polygon: list[Point]
    score: float
    line: int | None = None  # the text line a two-stage detector found this region in (an index per image)


@dataclass
class Recognition:
    """What the recognizer read on one crop."""

    text: str
    confidence: float
    char_confidences: list[float]


@dataclass
class Word:
    text: str
    confidence: float
    polygon: list[Point]
    char_confidences: list[float] = field(default_factory=list)
    angle: float = 0.0  # degrees, counter-clockwise rotation of the text baseline from horizontal
    line: int | None = None  # the detector's text line (Region.line): words of different lines never share a Line

    @property
    def bbox(self) -> BBox:
        return bbox_of(self.polygon)


@dataclass
class Line:
    words: list[Word]

    @property
    def bbox(self) -> BBox:
        return union_bbox([w.bbox for w in self.words])

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass
class Block:
    lines: list[Line]

    @property
    def bbox(self) -> BBox:
        return union_bbox([line.bbox for line in self.lines])

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class ModelInfo:
    name: str
    sha256: str


@dataclass
class Page:
    width: int
    height: int
    blocks: list[Block] = field(default_factory=list)
    source: str = ""  # the input path as the user gave it ("" for in-memory images)
    page_index: int = 0  # page number inside a multi-page file (TIFF)
    skew: float = 0.0  # degrees counter-clockwise the text is turned from the nearest right angle (layout.page_skew)
    dpi: float | None = None  # resolution of the page image when known (PDF render, the file's record)
    detector: ModelInfo | None = None
    recognizer: ModelInfo | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def words(self) -> list[Word]:
        return [w for b in self.blocks for line in b.lines for w in line.words]

    @property
    def text(self) -> str:
        """Lines in reading order, a blank line between blocks."""
        return "\n\n".join(b.text for b in self.blocks)
