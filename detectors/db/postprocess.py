"""The DB "representer": a probability map -> text regions in original-image pixels.

    P > det_thresh -> (dilate) -> external contours -> score each candidate -> keep score >= box_thresh
      -> unclip (grow by D' = area * unclip_ratio / perimeter) -> valid shape, big enough
      -> quad (minimum-area rectangle, default) or polygon -> scale to the original image, clip to it

Why unclip: the network is trained to mark the text *shrunk* by D = A (1 - 0.4^2) / L (see ``targets.py``); growing
the found kernel by A' * 1.5 / L' undoes that for word-like boxes. For very long lines the ratio recovers less of
the height (about 0.6 of it for a 10:1 line); raise ``unclip_ratio`` (e.g. 2.0) for line-level models.

Names and defaults follow the peers (PaddleOCR/MhLiao DB) so tuned values carry over. Two deliberate differences:
contours are external only (holes in a blob never become boxes), and when there are more than ``max_candidates``
contours the *largest* are kept rather than the first ones found.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import shapely
from shapely.geometry import Polygon

from ocrpipe.detectors.db.targets import offset_polygon
from ocrpipe.geometry import min_area_quad, order_polygon
from ocrpipe.types import Region


@dataclass(frozen=True)
class PostprocessParams:
    det_thresh: float = 0.3  # binarization threshold on P
    box_thresh: float = 0.4  # minimum mean P in a candidate (reference 0.6; 0.4 tuned on dev data, see MODEL_CARD)
    unclip_ratio: float = 1.5  # how much a kernel is grown back (D' = area * ratio / perimeter)
    max_candidates: int = 1000  # at most this many contours are looked at (the largest)
    min_size: float = 3.0  # candidates whose short side is below this (in map pixels) are dropped
    score_mode: str = "fast"  # "fast": mean P in the candidate's box; "slow": mean P in its exact contour
    dilate: bool = False  # dilate the binary map with a 2x2 kernel (joins broken strokes)
    polygons: bool = False  # output polygons (curved text) instead of quads

    def __post_init__(self) -> None:
        if self.score_mode not in ("fast", "slow"):
            raise ValueError(f"score_mode must be 'fast' or 'slow', got {self.score_mode!r}")


def mean_score(prob: np.ndarray, polygon: np.ndarray) -> float:
    """Mean of the probability map inside a polygon given in continuous coordinates (pixel i spans [i, i+1)).

    Only the polygon's bounding box is touched, so this stays cheap for thousands of candidates.
    """
    height, width = prob.shape
    index = polygon - 0.5  # pixel centres sit at i + 0.5
    x0, y0 = np.clip(np.floor(index.min(axis=0)).astype(int), 0, [width - 1, height - 1])
    x1, y1 = np.clip(np.ceil(index.max(axis=0)).astype(int), 0, [width - 1, height - 1])
    inside = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(inside, [np.round(index - [x0, y0]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask=inside)[0])


def unclip(polygon: np.ndarray, ratio: float) -> np.ndarray | None:
    """Grow a polygon by area * ratio / perimeter (round joins); None unless that gives exactly one piece."""
    shape = Polygon(polygon)
    if shape.area <= 0:
        return None
    pieces = offset_polygon(polygon, shape.area * ratio / shape.length)
    return pieces[0] if len(pieces) == 1 and len(pieces[0]) >= 3 else None


def short_side(points: np.ndarray) -> float:
    """Short side of the points' minimum-area rectangle."""
    (_, _), (w, h), _ = cv2.minAreaRect(points.astype(np.float32))
    return min(w, h)


def valid_polygon(points: np.ndarray) -> np.ndarray | None:
    """The points as a valid simple polygon (its biggest part if they self-intersect), or None when empty."""
    shape = shapely.make_valid(Polygon(points))
    parts = [g for g in getattr(shape, "geoms", [shape]) if isinstance(g, Polygon) and g.area > 0]
    if not parts:
        return None
    return np.asarray(max(parts, key=lambda g: g.area).exterior.coords)[:-1]


def _candidate(contour: np.ndarray, prob: np.ndarray, params: PostprocessParams) -> tuple[np.ndarray, float] | None:
    """One contour -> (region polygon in map coordinates, score), or None when it is filtered out."""
    points = contour.reshape(-1, 2).astype(np.float64) + 0.5  # pixel centres in continuous coordinates
    if params.polygons:
        shape = cv2.approxPolyDP(points.astype(np.float32), 0.002 * cv2.arcLength(contour, True), True)
        shape = valid_polygon(shape.reshape(-1, 2).astype(np.float64))
        if shape is None or len(shape) < 4:
            return None
    else:
        shape = cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32))).astype(np.float64)
    if short_side(shape) < params.min_size:
        return None
    score = mean_score(prob, points if params.score_mode == "slow" else shape)
    if score < params.box_thresh:
        return None
    grown = unclip(shape, params.unclip_ratio)
    if grown is None or short_side(grown) < params.min_size + 2:
        return None
    if not params.polygons:
        return min_area_quad(grown), score
    grown = valid_polygon(cv2.approxPolyDP(grown.astype(np.float32), 0.5, True).reshape(-1, 2).astype(np.float64))
    return None if grown is None or len(grown) < 4 else (order_polygon(grown), score)


def regions_from_prob(prob: np.ndarray, image_size: tuple[int, int],
                      params: PostprocessParams = PostprocessParams()) -> list[Region]:
    """Text regions of one image from its probability map.

    ``prob``: (h, w) float map covering the whole (resized, unpadded) image; ``image_size``: (width, height) of the
    original image, which the returned polygons are scaled to and clipped to (0..width, 0..height). Polygons are
    clockwise from the text's top-left corner (see ``ocrpipe.geometry``).
    """
    bitmap = (prob > params.det_thresh).astype(np.uint8)
    if params.dilate:
        bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) > params.max_candidates:
        contours = sorted(contours, key=cv2.contourArea, reverse=True)[:params.max_candidates]
    width, height = image_size
    scale = np.array([width / prob.shape[1], height / prob.shape[0]])
    regions = []
    for contour in contours:
        found = _candidate(contour, prob, params)
        if found is None:
            continue
        polygon, score = found
        polygon = np.clip(polygon * scale, 0, [width, height])
        regions.append(Region(polygon=[(float(x), float(y)) for x, y in polygon], score=score))
    return regions
