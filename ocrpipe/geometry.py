"""Geometry of text regions: corner order, reading direction and upright crops.

Convention (see ``ocrpipe/types.py``): a polygon lists its points clockwise *as seen on screen* (image coordinates,
y pointing down), starting at the top-left corner of the text as it reads. For a quad ``p0 p1 p2 p3`` that means
``p0 -> p1`` is the top edge of the text, running in the reading direction.

Geometry alone cannot tell a word from the same word turned by 180 degrees. :func:`order_corners` therefore picks the
reading direction that is closest to "left to right" (for a vertical box: bottom to top) and the pipeline resolves
the remaining 180-degree ambiguity by reading both :func:`rectify` and :func:`rotate180` of a crop and keeping the more
confident result (then :func:`turn_180` fixes up the polygon and angle).

Tall boxes: a quad whose long side is at least ``vertical_ratio`` (1.5) times its short side is a word whose reading
direction is its long side, even when that side is vertical. So a tall box is "turned upright by 90 degrees" already
by its corner order: its crop comes out wide, and the rotation is its ``angle`` (90 for text reading bottom to top).
Doing it here rather than by rotating a tall crop afterwards keeps the polygon's first corner consistent with the
crop. Boxes closer to square (a single glyph, "I", "Hi") keep the orientation closest to upright, so single tall
letters are not turned on their side.
"""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from ocrpipe.types import Point

VERTICAL_RATIO = 1.5


def _as_points(points: Sequence[Point] | np.ndarray, minimum: int = 3) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < minimum:
        raise ValueError(f"need at least {minimum} points, got {len(pts)}")
    return pts


def _clockwise_by_angle(quad: np.ndarray) -> np.ndarray:
    """The 4 points sorted by angle around their centroid: clockwise on screen (y points down)."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    return quad[np.argsort(angles, kind="stable")]


def _top_edge_index(quad: np.ndarray, vertical_ratio: float) -> int:
    """Index i of the corner that starts the text's top edge quad[i] -> quad[i+1] (quad already clockwise).

    Candidates are the two long edges of an elongated quad (the long side is the reading direction), or all four
    edges of a near-square one. Running clockwise, the top edge goes left to right and the bottom edge right to left,
    so the top edge is the candidate pointing most to the right; a vertical tie goes to the upward edge (text read
    bottom to top).
    """
    edges = quad[[1, 2, 3, 0]] - quad
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    pair_a = lengths[0] + lengths[2]  # edges 0 and 2 are opposite, as are 1 and 3
    pair_b = lengths[1] + lengths[3]
    if max(pair_a, pair_b) >= vertical_ratio * max(min(pair_a, pair_b), 1e-9):
        candidates = [0, 2] if pair_a >= pair_b else [1, 3]
    else:
        candidates = [0, 1, 2, 3]
    unit = edges[candidates] / np.maximum(lengths[candidates], 1e-9)[:, None]
    rightward = unit[:, 0] - 1e-3 * unit[:, 1]  # y points down: -unit_y is "upward"
    return candidates[int(np.argmax(rightward))]


def order_corners(quad: Sequence[Point] | np.ndarray, vertical_ratio: float = VERTICAL_RATIO) -> np.ndarray:
    """Order the 4 corners of a quad clockwise from the text's top-left corner; returns a (4, 2) float array.

    Robust for any rotation (unlike sorting by x, which flips near 45 degrees). The long side is taken as the reading
    direction when it is ``vertical_ratio`` times the short side or more; see the module docstring.
    """
    pts = _as_points(quad)
    if len(pts) != 4:
        raise ValueError(f"order_corners needs 4 points, got {len(pts)}")
    clockwise = _clockwise_by_angle(pts)
    start = _top_edge_index(clockwise, vertical_ratio)
    return clockwise[[(start + i) % 4 for i in range(4)]]


def min_area_quad(points: Sequence[Point] | np.ndarray, vertical_ratio: float = VERTICAL_RATIO) -> np.ndarray:
    """The minimum-area rectangle around the points, ordered like :func:`order_corners`."""
    box = cv2.boxPoints(cv2.minAreaRect(_as_points(points, minimum=1).astype(np.float32)))
    return order_corners(box, vertical_ratio)


def order_polygon(points: Sequence[Point] | np.ndarray, vertical_ratio: float = VERTICAL_RATIO) -> np.ndarray:
    """Any polygon in the project's convention: clockwise, starting at the vertex nearest the text's top-left.

    A quad goes through :func:`order_corners`; a longer polygon keeps its shape and is only turned clockwise and
    rolled so that it starts next to the first corner of its minimum-area rectangle.
    """
    pts = _as_points(points)
    if len(pts) == 4:
        return order_corners(pts, vertical_ratio)
    if not Polygon(pts).exterior.is_ccw:  # shapely's ccw assumes y up: with y down it is clockwise on screen
        pts = pts[::-1]
    top_left = min_area_quad(pts, vertical_ratio)[0]
    start = int(np.argmin(np.hypot(*(pts - top_left).T)))
    return np.roll(pts, -start, axis=0)


def baseline_angle(polygon: Sequence[Point] | np.ndarray) -> float:
    """Counter-clockwise angle in degrees, in (-180, 180], of the top edge p0 -> p1 (0 = upright text)."""
    pts = _as_points(polygon)
    dx, dy = pts[1] - pts[0]
    return _normalise_angle(math.degrees(math.atan2(-dy, dx)))


def _normalise_angle(angle: float) -> float:
    angle = math.fmod(angle, 360.0)
    if angle <= -180.0:
        angle += 360.0
    elif angle > 180.0:
        angle -= 360.0
    return 0.0 if abs(angle) < 1e-9 else angle


def _warp_quad(image: np.ndarray, quad: np.ndarray, width: int, height: int) -> np.ndarray:
    """Perspective warp of quad (clockwise from top-left) onto a width x height upright rectangle."""
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def _quad_size(quad: np.ndarray) -> tuple[int, int]:
    """Output width and height of a quad's crop: the longer of each pair of opposite edges, at least 1 px."""
    def length(a: int, b: int) -> float:
        return float(np.hypot(*(quad[a] - quad[b])))
    width = max(length(0, 1), length(3, 2))
    height = max(length(0, 3), length(1, 2))
    return max(1, round(width)), max(1, round(height))


def _strip_slices(polygon: np.ndarray, vertical_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut a (curved) polygon into slices across its long axis: the top and bottom point of each cut.

    The cuts are perpendicular to the reading direction of the polygon's minimum-area rectangle, spaced about one
    text height apart. Each cut keeps the extreme points where it crosses the polygon, so a strongly bent polygon
    (an arc of more than ~90 degrees) gives slices that are too tall; that is the known limit of this method.
    """
    rect = min_area_quad(polygon, vertical_ratio)
    along = rect[1] - rect[0]
    across = rect[3] - rect[0]
    length = float(np.hypot(*along))
    thickness = float(np.hypot(*across))
    u = along / max(length, 1e-9)
    v = across / max(thickness, 1e-9)
    shape = shapely.make_valid(Polygon(polygon))
    n_slices = max(1, round(length / max(thickness, 1.0)))
    inset = min(1.0, length / 4)
    tops, bottoms = [], []
    for t in np.linspace(inset, length - inset, n_slices + 1):
        origin = rect[0] + t * u
        cut = LineString([origin - v, origin + v * (thickness + 1)]).intersection(shape)
        coords = np.asarray(shapely.get_coordinates(cut)) if not cut.is_empty else np.empty((0, 2))
        if len(coords) < 2:  # the cut missed (odd shapes): fall back to the rectangle's edge
            coords = np.stack([origin, origin + across])
        depth = (coords - rect[0]) @ v
        tops.append(origin + depth.min() * v)
        bottoms.append(origin + depth.max() * v)
    return np.asarray(tops), np.asarray(bottoms)


def _rectify_curved(image: np.ndarray, polygon: np.ndarray, vertical_ratio: float) -> np.ndarray:
    tops, bottoms = _strip_slices(polygon, vertical_ratio)
    heights = np.hypot(*(bottoms - tops).T)
    height = max(1, round(float(np.median(heights))))
    pieces = []
    for i in range(len(tops) - 1):
        quad = np.stack([tops[i], tops[i + 1], bottoms[i + 1], bottoms[i]])
        width, _ = _quad_size(quad)
        pieces.append(_warp_quad(image, quad, width, height))
    return np.concatenate(pieces, axis=1)


def grow_quad(quad: np.ndarray, margin: float) -> np.ndarray:
    """An ordered quad moved outwards on every side by ``margin`` times its height; corner order is kept."""
    along = quad[1] - quad[0]
    across = quad[3] - quad[0]
    height = float(np.hypot(*across))
    u = along / max(float(np.hypot(*along)), 1e-9)
    v = across / max(height, 1e-9)
    d = margin * height
    return quad + d * np.array([-u - v, u - v, u + v, -u + v])


def rectify(image: np.ndarray, polygon: Sequence[Point] | np.ndarray,
            vertical_ratio: float = VERTICAL_RATIO, margin: float = 0.0) -> tuple[np.ndarray, float]:
    """Cut a region out of the image as an upright crop; returns ``(crop, angle_degrees)``.

    A quad is perspective-warped to a rectangle (replicated border); the corners are put in order first, so any
    corner order works and tall boxes come out turned upright (see the module docstring). ``margin`` grows a quad
    by that fraction of its height on every side before cutting (:func:`grow_quad`). A polygon with more than
    4 points (curved text) is cut as it is, into slices along its long axis, each slice warped to the same height
    and the pieces concatenated left to right. ``angle`` is the counter-clockwise rotation of the text baseline
    from horizontal, as stored in ``Word.angle``.
    """
    pts = order_polygon(polygon, vertical_ratio)
    if len(pts) == 4:
        cut = grow_quad(pts, margin) if margin else pts
        width, height = _quad_size(cut)
        return _warp_quad(image, cut, width, height), baseline_angle(pts)
    return _rectify_curved(image, pts, vertical_ratio), baseline_angle(min_area_quad(pts, vertical_ratio))


def rotate180(crop: np.ndarray) -> np.ndarray:
    """The crop turned upside down (for trying the other reading direction)."""
    return np.ascontiguousarray(crop[::-1, ::-1])


def turn_180(polygon: Sequence[Point] | np.ndarray, angle: float) -> tuple[list[Point], float]:
    """Polygon and angle of a region after deciding its text reads the other way round.

    The polygon starts half-way round (the old bottom-right corner becomes the top-left) and the angle grows by 180.
    """
    pts = _as_points(polygon)
    turned = np.roll(pts, -(len(pts) // 2), axis=0)
    return [(float(x), float(y)) for x, y in turned], _normalise_angle(angle + 180.0)
