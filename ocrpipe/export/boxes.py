"""Whole-pixel boxes for the exporters."""
from __future__ import annotations

import math

from ocrpipe.types import BBox

PixelBox = tuple[int, int, int, int]


def pixel_bbox(bbox: BBox, width: int, height: int) -> PixelBox:
    """The smallest whole-pixel box covering `bbox`, clipped to the page (so every value is in 0..width/height).

    Outward rounding keeps containment: a line's box, made from its words' boxes, covers each word's pixel box.
    """
    x0, y0, x1, y1 = bbox
    width, height = int(width), int(height)
    left = min(max(math.floor(x0), 0), width)
    top = min(max(math.floor(y0), 0), height)
    right = min(max(math.ceil(x1), left), width)
    bottom = min(max(math.ceil(y1), top), height)
    return (left, top, right, bottom)
