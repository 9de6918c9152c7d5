import math

import cv2
import numpy as np
import pytest

from ocrpipe.geometry import (baseline_angle, grow_quad, order_corners, order_polygon, rectify, rotate180,
                              turn_180)


def text_box(centre, width, height, angle_deg):
    """Corners (text TL, TR, BR, BL) of a width x height box whose text is turned counter-clockwise by angle."""
    a = math.radians(angle_deg)
    u = np.array([math.cos(a), -math.sin(a)])  # reading direction on screen (y down)
    v = np.array([math.sin(a), math.cos(a)])  # "down" in the text's frame
    c = np.asarray(centre, dtype=float)
    return np.array([c - width / 2 * u - height / 2 * v, c + width / 2 * u - height / 2 * v,
                     c + width / 2 * u + height / 2 * v, c - width / 2 * u + height / 2 * v])


@pytest.mark.parametrize("angle", [0, 30, 45, 60, 89.5, 90, -30, -60])
@pytest.mark.parametrize("shuffle", [(0, 1, 2, 3), (2, 0, 3, 1), (3, 2, 1, 0)])
def test_order_corners_starts_at_text_top_left(angle, shuffle):
    corners = text_box((200, 150), 120, 30, angle)
    ordered = order_corners(corners[list(shuffle)])
    np.testing.assert_allclose(ordered, corners, atol=1e-6)
    assert baseline_angle(ordered) == pytest.approx(angle)


def test_order_corners_at_180_degrees_is_the_upright_reading_and_turn_180_flips_it():
    corners = text_box((200, 150), 120, 30, 180)
    ordered = order_corners(corners)
    # Geometry cannot tell 180 from 0: the upright reading comes first, the pipeline asks the recognizer.
    np.testing.assert_allclose(ordered, text_box((200, 150), 120, 30, 0), atol=1e-6)
    turned, angle = turn_180(ordered, baseline_angle(ordered))
    np.testing.assert_allclose(turned, corners, atol=1e-6)
    assert angle == pytest.approx(180)


def test_near_square_box_keeps_the_orientation_closest_to_upright():
    # A single tall glyph ("I"): 1.3 x taller than wide must not be turned on its side.
    corners = np.array([[10, 10], [30, 10], [30, 36], [10, 36]], dtype=float)
    np.testing.assert_allclose(order_corners(corners[::-1]), corners)


def test_order_polygon_makes_long_polygons_clockwise_from_top_left():
    top = [(x, 50 - 10 * math.sin(x / 40)) for x in range(0, 201, 25)]
    bottom = [(x, y + 30) for x, y in reversed(top)]
    clockwise = np.array(top + bottom)
    for given in (clockwise[::-1], np.roll(clockwise, 5, axis=0)):
        np.testing.assert_allclose(order_polygon(given), clockwise)


def render_word(text="OCRPIPE", scale=2.0):
    """White canvas with black text; returns (canvas, text box corners TL TR BR BL)."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 4)
    canvas = np.full((h + base + 200, w + 200, 3), 255, np.uint8)
    cv2.putText(canvas, text, (100, 100 + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4, cv2.LINE_AA)
    box = np.array([[95, 95], [105 + w, 95], [105 + w, 105 + h + base], [95, 105 + h + base]], float)
    return canvas, box


def rotate_scene(canvas, box, angle):
    """Turn the canvas counter-clockwise by angle (no clipping); returns the new canvas and the moved box."""
    h, w = canvas.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
    m[:, 2] += (nw - w) / 2, (nh - h) / 2
    turned = cv2.warpAffine(canvas, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    moved = np.hstack([box, np.ones((4, 1))]) @ m.T
    return turned, moved


def correlation(crop, reference):
    a = cv2.cvtColor(cv2.resize(crop, reference.shape[1::-1]), cv2.COLOR_RGB2GRAY).astype(float).ravel()
    b = cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY).astype(float).ravel()
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("angle", [0, 20, 45, 70, 90, -35])
def test_rectified_crop_of_a_rotated_word_is_upright(angle):
    canvas, box = render_word()
    reference, _ = rectify(canvas, box)
    scene, moved = rotate_scene(canvas, box, angle)
    crop, found_angle = rectify(scene, moved[[2, 0, 3, 1]])  # any corner order
    assert crop.shape[1] > crop.shape[0]
    assert correlation(crop, reference) > 0.9
    assert correlation(rotate180(crop), reference) < 0.5
    assert found_angle == pytest.approx(angle, abs=0.5)


def test_upside_down_word_is_recovered_by_rotate180():
    canvas, box = render_word()
    reference, _ = rectify(canvas, box)
    scene, moved = rotate_scene(canvas, box, 160)
    crop, angle = rectify(scene, moved)
    assert correlation(crop, reference) < 0.5
    assert correlation(rotate180(crop), reference) > 0.9
    assert turn_180(order_corners(moved), angle)[1] == pytest.approx(160, abs=0.5)


def test_curved_word_is_rectified_piecewise():
    canvas, box = render_word()
    reference, _ = rectify(canvas, box)
    h, w = canvas.shape[:2]
    bend = lambda x: 25 * np.sin((x - 100) / (box[1, 0] - 100) * np.pi)  # noqa: E731 - text bows upwards
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    curved = cv2.remap(canvas, xs, (ys + bend(xs)).astype(np.float32), cv2.INTER_LINEAR,
                       borderValue=(255, 255, 255))
    top_x = np.linspace(box[0, 0], box[1, 0], 12)
    top = np.stack([top_x, box[0, 1] - bend(top_x)], axis=1)
    bottom = np.stack([top_x[::-1], box[2, 1] - bend(top_x[::-1])], axis=1)
    crop, angle = rectify(curved, np.vstack([top, bottom]))
    straight_crop, _ = rectify(curved, order_corners(np.vstack([top[[0, -1]], bottom[[0, -1]]])))
    assert abs(angle) < 2
    assert correlation(crop, reference) > 0.8
    assert correlation(crop, reference) > correlation(straight_crop, reference) + 0.2


@pytest.mark.parametrize("angle", [0, 30, 90, 180])
def test_grow_quad_moves_every_side_out_by_the_margin_and_keeps_the_corner_order(angle):
    box = text_box((200, 150), 120, 30, angle)
    grown = grow_quad(box, 0.1)  # 3 px on each side of a 30 px high box
    np.testing.assert_allclose(grown, text_box((200, 150), 126, 36, angle), atol=1e-6)
    assert baseline_angle(grown) == pytest.approx(baseline_angle(box))


def test_rectify_with_a_margin_cuts_a_larger_crop_of_the_same_word():
    canvas, box = render_word()
    tight, angle = rectify(canvas, box)
    loose, loose_angle = rectify(canvas, box, margin=0.25)
    height = tight.shape[0]
    assert loose.shape[0] == pytest.approx(1.5 * height, abs=1)
    assert loose.shape[1] == pytest.approx(tight.shape[1] + 0.5 * height, abs=1)
    assert loose_angle == angle
    inner = loose[round(height / 4):round(height / 4) + height, round(height / 4):round(height / 4) + tight.shape[1]]
    assert correlation(inner, tight) > 0.95
