"""Lines first, then words: a line finder marks the text lines, each line is cut out upright at one text height, and
the word detector reads all the lines of an image at once, packed into one canvas.

Why two stages. PaddleOCR's pretrained detector finds text LINES very well at a modest input size, photos and small
receipt print alike, but our recognizer reads single words. The word detector fine-tuned here splits lines into words
well when the text is of the height it was trained on, and badly when print is small (it joins neighbouring words)
or large. Cutting every line out at ``text_height`` pixels gives it exactly that height, whatever the image's
resolution; and a canvas of lines is much smaller than an enlarged page, so both stages together cost less than one
look at an enlarged page.

The data flow: image -> line regions (line finder) -> :func:`cut_strip` per line (a perspective warp of the line's
rectangle grown by ``margin``) -> :func:`pack_strips` into canvases -> word regions on each canvas (word detector)
-> :func:`words_from_canvas` (each word mapped back through its strip's inverse warp; words centred in a strip's
margin belong to a neighbouring line and are dropped) -> :func:`suppress_overlaps` (lines that overlap find the same
word twice). :func:`words_into_strip` goes the other way, for training the word stage on such canvases
(scripts/line_canvases.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Sequence

import cv2
import numpy as np
from shapely.geometry import Polygon

from ocrpipe.geometry import grow_quad, min_area_quad
from ocrpipe.types import Point, Region


@dataclass(frozen=True)
class LineWords:
    """The settings of the two stages (stored in the word detector's weights file, meta ``line_words``)."""

    text_height: float = 40.0  # pixels a line's height is scaled to before the word detector sees it
    margin: float = 0.3  # context kept around each line, as a fraction of its height
    canvas_width: int = 1600  # lines are packed left to right into rows this wide (longer lines are squeezed)
    canvas_height: int = 2048  # a new canvas starts when one is this tall (bounds the word detector's memory)
    gap: int = 8  # blank pixels between packed lines
    overlap: float = 0.5  # a word covering more than this fraction of a better word (or it of it) is dropped
    line_side: int = 960  # the line finder's input: long side brought to line_side ...
    line_upscale: float = 2.0  # ... enlarging small images by at most this factor
    line_box_thresh: float = 0.5  # the line finder's post-processing (PaddleOCR's own settings)
    line_unclip_ratio: float = 1.6

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Strip:
    """One line cut out upright: ``image`` is the line at ``text_height`` with ``pad`` pixels of margin above and
    below, ``to_source`` the 3x3 perspective map from strip pixels back to the source image."""

    image: np.ndarray
    to_source: np.ndarray
    pad: float


def cut_strip(image: np.ndarray, polygon: Sequence[Point] | np.ndarray, settings: LineWords) -> Strip | None:
    """The line inside ``polygon`` warped upright to ``settings.text_height`` (None for a degenerate region)."""
    quad = min_area_quad(np.asarray(polygon, dtype=np.float64))
    height = float(np.hypot(*(quad[3] - quad[0])))
    width = float(np.hypot(*(quad[1] - quad[0])))
    if height < 2 or width < 2:
        return None
    scale = settings.text_height / height
    pad = settings.margin * settings.text_height
    out_height = max(1, round(settings.text_height + 2 * pad))
    out_width = min(settings.canvas_width, max(1, round(width * scale + 2 * pad)))
    target = np.float32([[0, 0], [out_width, 0], [out_width, out_height], [0, out_height]])
    forward = cv2.getPerspectiveTransform(grow_quad(quad, settings.margin).astype(np.float32), target)
    strip = cv2.warpPerspective(image, forward, (out_width, out_height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    return Strip(strip, np.linalg.inv(forward), pad)


@dataclass(frozen=True)
class Placement:
    canvas: int  # which canvas
    x: int  # top-left corner of the strip in it
    y: int


def pack_strips(sizes: Sequence[tuple[int, int]], width: int, max_height: int, gap: int) -> list[Placement]:
    """Shelf packing of (width, height) boxes, in order: left to right in rows ``width`` wide, rows top to bottom,
    a new canvas when the next row would pass ``max_height`` (a single row taller than that still gets one)."""
    placements: list[Placement] = []
    canvas, x, y, row_height = 0, 0, 0, 0
    for w, h in sizes:
        if x > 0 and x + w > width:  # next row
            x, y, row_height = 0, y + row_height + gap, 0
        if y > 0 and y + h > max_height:  # next canvas
            canvas, x, y, row_height = canvas + 1, 0, 0, 0
        placements.append(Placement(canvas, x, y))
        x += w + gap
        row_height = max(row_height, h)
    return placements


def paint_canvases(strips: Sequence[Strip], placements: Sequence[Placement]) -> list[np.ndarray]:
    """White RGB canvases with every strip copied to its place; each canvas just large enough for its strips."""
    count = max((p.canvas for p in placements), default=-1) + 1
    sizes = [[1, 1] for _ in range(count)]
    for strip, p in zip(strips, placements):
        h, w = strip.image.shape[:2]
        sizes[p.canvas] = [max(sizes[p.canvas][0], p.x + w), max(sizes[p.canvas][1], p.y + h)]
    canvases = [np.full((h, w, 3), 255, np.uint8) for w, h in sizes]
    for strip, p in zip(strips, placements):
        h, w = strip.image.shape[:2]
        canvases[p.canvas][p.y:p.y + h, p.x:p.x + w] = strip.image
    return canvases


def words_from_canvas(found: Sequence[Region], canvas: int, strips: Sequence[Strip],
                      placements: Sequence[Placement]) -> list[Region]:
    """Word regions found on one canvas, in source-image coordinates.

    A word belongs to the strip its centre falls in (its ``line`` is the strip's index); words centred in a strip's
    top or bottom margin (the edge of a neighbouring line) or between strips are dropped. Corners are clipped to the
    strip before mapping back."""
    mine = [(index, strip, p) for index, (strip, p) in enumerate(zip(strips, placements)) if p.canvas == canvas]
    words: list[Region] = []
    for region in found:
        polygon = np.asarray(region.polygon, dtype=np.float64)
        cx, cy = polygon.mean(axis=0)
        for index, strip, p in mine:
            h, w = strip.image.shape[:2]
            if p.x <= cx < p.x + w and p.y + strip.pad <= cy <= p.y + h - strip.pad:
                local = np.clip(polygon - (p.x, p.y), 0, (w, h))
                back = cv2.perspectiveTransform(local.reshape(-1, 1, 2), strip.to_source).reshape(-1, 2)
                words.append(Region(polygon=[(float(x), float(y)) for x, y in back], score=region.score, line=index))
                break
    return words


def words_into_strip(polygons: Sequence[np.ndarray], ignore: Sequence[bool], strip: Strip,
                     placement: Placement, min_inside: float = 0.8) -> list[tuple[np.ndarray, bool]]:
    """Training data, the inverse of :func:`words_from_canvas`: the ground-truth words that show in one strip, as
    (polygon in canvas pixels, ignore) pairs. A word whose centre lies in the strip's text band and that lies at
    least ``min_inside`` inside the strip is a word to find; any other word that shows (the edge of a neighbouring
    line in the margin, a word cut by the strip's end) is don't-care."""
    h, w = strip.image.shape[:2]
    forward = np.linalg.inv(strip.to_source)
    frame = Polygon([(0, 0), (w, 0), (w, h), (0, h)])
    found = []
    for polygon, ignored in zip(polygons, ignore):
        local = cv2.perspectiveTransform(np.asarray(polygon, np.float64).reshape(-1, 1, 2), forward).reshape(-1, 2)
        shape = Polygon(local).buffer(0)
        if shape.is_empty or not shape.intersects(frame):
            continue
        cx, cy = local.mean(axis=0)
        mine = 0 <= cx < w and strip.pad <= cy <= h - strip.pad
        mine = mine and shape.intersection(frame).area >= min_inside * shape.area
        found.append((local + (placement.x, placement.y), bool(ignored) or not mine))
    return found


def suppress_overlaps(regions: Sequence[Region], overlap: float) -> list[Region]:
    """Keep the best-scoring of regions that cover each other: a region is dropped when its intersection with a
    kept one exceeds ``overlap`` times the smaller of the two areas (the same word found from two lines)."""
    kept: list[Region] = []
    shapes: list[Polygon] = []
    for region in sorted(regions, key=lambda r: -r.score):
        shape = Polygon(region.polygon).buffer(0)
        if shape.area <= 0:
            continue
        if any(shape.intersection(other).area > overlap * min(shape.area, other.area) for other in shapes):
            continue
        kept.append(region)
        shapes.append(shape)
    return kept


class LineWordDetector:
    """Finds words in RGB uint8 images with two DB detectors: ``lines`` (finds text lines) and ``words`` (splits a
    line into words at a known text height). Same interface as ``DBDetector``: ``detect(images)`` ->
    list of regions per image, polygons in the image's own pixels."""

    def __init__(self, lines, words, settings: LineWords = LineWords()) -> None:
        """``lines`` and ``words`` are ``DBDetector``s; the line finder's input size and post-processing are set
        here from ``settings`` (they belong to the pair, not to the line finder's file)."""
        self.lines = lines
        self.lines.config = replace(lines.config, limit_side=settings.line_side, limit_type="max",
                                    max_upscale=settings.line_upscale)
        self.lines.params = replace(lines.params, box_thresh=settings.line_box_thresh,
                                    unclip_ratio=settings.line_unclip_ratio)
        self.lines.split_lines = False
        self.words = words
        self.settings = settings

    @property
    def device(self):
        return self.words.device

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Region]]:
        return [self._words_of(image, lines) for image, lines in zip(images, self.lines.detect(images))]

    def _words_of(self, image: np.ndarray, lines: Sequence[Region]) -> list[Region]:
        s = self.settings
        strips = [strip for strip in (cut_strip(image, line.polygon, s) for line in lines) if strip is not None]
        if not strips:
            return []
        placements = pack_strips([strip.image.shape[1::-1] for strip in strips], s.canvas_width, s.canvas_height,
                                 s.gap)
        words: list[Region] = []
        for index, canvas in enumerate(paint_canvases(strips, placements)):
            found = self.words.look(canvas, 1.0)
            words += words_from_canvas(found, index, strips, placements)
        return suppress_overlaps(words, s.overlap)
