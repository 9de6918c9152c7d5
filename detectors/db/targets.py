"""Training targets of DBNet, built from text polygons at the network's input resolution.

* ``gt`` (probability target G_s): each polygon shrunk by D = A (1 - r^2) / L (area A, perimeter L, r = 0.4) with
  Vatti clipping (pyclipper, round joins) and filled with 1.
* ``mask``: 0 where the probability/binary losses must not look: don't-care polygons, polygons too small to learn
  (short side of their minimum-area rectangle < ``min_text_size``) and polygons whose shrink is empty.
* ``thresh`` (threshold target G_t): around each polygon, within the band between the polygon shrunk and grown by D,
  1 - distance to the nearest polygon edge / D (clipped to [0, 1]), combined by max, then rescaled to
  [thresh_min, thresh_max] = [0.3, 0.7]: 0.7 on the text border, 0.3 far from it.
* ``thresh_mask``: the polygons grown by D (the threshold loss only looks there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import pyclipper
from shapely.geometry import Polygon


@dataclass
class DBTargets:
    gt: np.ndarray  # (H, W) float32, 1 inside shrunk text
    mask: np.ndarray  # (H, W) float32, 0 = ignored by the probability / binary losses
    thresh: np.ndarray  # (H, W) float32 in [thresh_min, thresh_max]
    thresh_mask: np.ndarray  # (H, W) float32, 1 inside grown text


def offset_distance(polygon: np.ndarray, shrink_ratio: float = 0.4) -> float:
    """D = A (1 - r^2) / L: how far DB shrinks (and grows) a polygon."""
    shape = Polygon(polygon)
    return shape.area * (1.0 - shrink_ratio ** 2) / max(shape.length, 1e-9)


def offset_polygon(polygon: np.ndarray, distance: float) -> list[np.ndarray]:
    """Grow (distance > 0) or shrink (< 0) a polygon with round joins; returns 0, 1 or more pieces.

    pyclipper works on integers, so coordinates are scaled by 16 around the call (1/16 px precision).
    """
    scale = 16.0
    clipper = pyclipper.PyclipperOffset(arc_tolerance=0.25 * scale)
    clipper.AddPath(np.round(polygon * scale).astype(np.int64).tolist(), pyclipper.JT_ROUND,
                    pyclipper.ET_CLOSEDPOLYGON)
    return [np.asarray(piece, dtype=np.float64) / scale for piece in clipper.Execute(distance * scale)]


def min_side(polygon: np.ndarray) -> float:
    """Short side of the polygon's minimum-area rectangle (a rotated word's height, not its axis-aligned extent)."""
    (_, _), (w, h), _ = cv2.minAreaRect(polygon.astype(np.float32))
    return min(w, h)


def _fill(canvas: np.ndarray, polygons: Sequence[np.ndarray], value: float) -> None:
    cv2.fillPoly(canvas, [np.round(p).astype(np.int32) for p in polygons], value)


def _segment_distances(xs: np.ndarray, ys: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Distance from every grid point (xs, ys) to the nearest edge segment of the closed polygon."""
    best = np.full(xs.shape, np.inf)
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0)):
        ab = b - a
        t = ((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / max(float(ab @ ab), 1e-9)
        t = np.clip(t, 0.0, 1.0)  # the foot of the perpendicular, or the nearest end point
        best = np.minimum(best, np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1])))
    return best


def _draw_border(thresh: np.ndarray, thresh_mask: np.ndarray, polygon: np.ndarray, distance: float) -> None:
    """Add one polygon's border band to the (unscaled, 0..1) threshold canvas and its mask."""
    grown = offset_polygon(polygon, distance)
    if not grown:
        return
    _fill(thresh_mask, grown, 1.0)
    height, width = thresh.shape
    points = np.vstack(grown)
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
    if x1 < x0 or y1 < y0:
        return
    ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1].astype(np.float64)
    closeness = 1.0 - np.clip(_segment_distances(xs, ys, polygon) / distance, 0.0, 1.0)
    window = thresh[y0:y1 + 1, x0:x1 + 1]
    np.maximum(window, closeness.astype(np.float32), out=window)


def make_targets(polygons: Sequence[np.ndarray], ignore: Sequence[bool], height: int, width: int,
                 shrink_ratio: float = 0.4, min_text_size: float = 8.0,
                 thresh_min: float = 0.3, thresh_max: float = 0.7) -> DBTargets:
    """Build the four target maps for one image of size (height, width).

    ``polygons`` are (N_i, 2) arrays in pixel coordinates of this image (any vertex order and orientation; parts
    outside the image are clipped); ``ignore[i]`` marks don't-care regions ("###").
    """
    gt = np.zeros((height, width), np.float32)
    mask = np.ones((height, width), np.float32)
    thresh = np.zeros((height, width), np.float32)
    thresh_mask = np.zeros((height, width), np.float32)
    for polygon, is_ignored in zip(polygons, ignore):
        polygon = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        polygon = np.stack([np.clip(polygon[:, 0], 0, width - 1), np.clip(polygon[:, 1], 0, height - 1)], axis=1)
        if len(polygon) < 3 or Polygon(polygon).area < 1:
            continue
        if is_ignored or min_side(polygon) < min_text_size:
            _fill(mask, [polygon], 0.0)
            continue
        distance = offset_distance(polygon, shrink_ratio)
        shrunk = offset_polygon(polygon, -distance)
        if not shrunk:
            _fill(mask, [polygon], 0.0)
            continue
        _fill(gt, shrunk, 1.0)
        _draw_border(thresh, thresh_mask, polygon, distance)
    thresh = thresh * (thresh_max - thresh_min) + thresh_min
    return DBTargets(gt=gt, mask=mask, thresh=thresh, thresh_mask=thresh_mask)
