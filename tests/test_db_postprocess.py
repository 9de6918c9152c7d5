import time

import numpy as np
import pytest
from shapely.geometry import Polygon

from ocrpipe.detectors.db.postprocess import PostprocessParams, regions_from_prob
from ocrpipe.detectors.db.targets import make_targets


def text_box(centre, width, height, angle_deg):
    """Corners (text TL, TR, BR, BL) of a box whose text is turned counter-clockwise by angle (y down)."""
    a = np.radians(angle_deg)
    u = np.array([np.cos(a), -np.sin(a)])
    v = np.array([np.sin(a), np.cos(a)])
    c = np.asarray(centre, float)
    return np.array([c - width / 2 * u - height / 2 * v, c + width / 2 * u - height / 2 * v,
                     c + width / 2 * u + height / 2 * v, c - width / 2 * u + height / 2 * v])


def kernel_map(boxes, shape, value=0.9):
    """A probability map with the given (already shrunk) boxes filled: pixels whose centre is inside a box."""
    prob = np.zeros(shape, np.float32)
    for box in boxes:  # clockwise on screen: inside = right of every edge
        x0, y0 = np.maximum(np.floor(box.min(axis=0)).astype(int), 0)
        x1, y1 = np.ceil(box.max(axis=0)).astype(int) + 1
        ys, xs = np.mgrid[y0:min(y1, shape[0]), x0:min(x1, shape[1])] + 0.5
        inside = np.ones(xs.shape, bool)
        for (ax, ay), (bx, by) in zip(box, np.roll(box, -1, axis=0)):
            inside &= (bx - ax) * (ys - ay) - (by - ay) * (xs - ax) >= 0
        prob[y0:y0 + xs.shape[0], x0:x0 + xs.shape[1]][inside] = value
    return prob


def grown(width, height, ratio=1.5):
    d = width * height * ratio / (2 * (width + height))
    return width + 2 * d, height + 2 * d


@pytest.mark.parametrize("angle", [0, 15, 30, 45, 60, 90, -20])
def test_rotated_kernels_come_back_unclipped_within_2px(angle):
    kernel = text_box((150, 120), 80, 16, angle)
    regions = regions_from_prob(kernel_map([kernel], (240, 300)), (300, 240))
    assert len(regions) == 1
    expected = text_box((150, 120), *grown(80, 16), angle)
    np.testing.assert_allclose(np.array(regions[0].polygon), expected, atol=2.0)
    assert regions[0].score == pytest.approx(0.9, abs=0.1)  # the fast score also sees the box's corners


def test_coordinates_are_scaled_to_the_original_image_and_clipped():
    kernel = text_box((60, 40), 50, 10, 0)
    edge = text_box((5, 70), 30, 10, 0)  # its unclipped box sticks out on the left
    regions = regions_from_prob(kernel_map([kernel, edge], (96, 128)), (256, 192))  # map at half size
    regions.sort(key=lambda r: r.polygon[0][1])
    np.testing.assert_allclose(np.array(regions[0].polygon), 2 * text_box((60, 40), *grown(50, 10), 0), atol=2.5)
    xs = [x for x, _ in regions[1].polygon]
    assert min(xs) == 0.0


def test_unclip_approximately_inverts_the_training_shrink():
    truth = [text_box((100, 60), 90, 30, 0), text_box((150, 150), 100, 32, 25)]
    targets = make_targets(truth, [False, False], 220, 260)
    regions = regions_from_prob(targets.gt, (260, 220))
    assert len(regions) == 2
    regions.sort(key=lambda r: r.polygon[0][1])
    for region, box in zip(regions, truth):
        found, expected = Polygon(region.polygon), Polygon(box)
        iou = found.intersection(expected).area / found.union(expected).area
        assert iou > 0.8


def test_filters_low_scores_tiny_blobs_and_keeps_the_largest_candidates():
    strong = text_box((50, 30), 60, 12, 0)
    weak = text_box((50, 80), 60, 12, 0)
    prob = kernel_map([strong], (120, 160)) + kernel_map([weak], (120, 160), value=0.45)
    prob[110, 150] = 0.95  # one-pixel speck
    regions = regions_from_prob(prob, (160, 120), PostprocessParams(box_thresh=0.6))
    assert len(regions) == 1 and regions[0].polygon[0][1] < 30
    assert len(regions_from_prob(prob, (160, 120), PostprocessParams(box_thresh=0.4))) == 2
    assert len(regions_from_prob(prob, (160, 120), PostprocessParams(box_thresh=0.4, max_candidates=1))) == 1


def test_dilation_joins_a_broken_word():
    prob = kernel_map([text_box((40, 30), 30, 12, 0), text_box((71, 30), 30, 12, 0)], (60, 120))
    prob[:, 55:56] = 0.0  # a one-pixel gap
    assert len(regions_from_prob(prob, (120, 60))) == 2
    assert len(regions_from_prob(prob, (120, 60), PostprocessParams(dilate=True))) == 1


def test_polygon_mode_follows_curved_text():
    prob = np.zeros((200, 300), np.float32)
    xs = np.arange(40, 261)
    centre = 100 + 40 * np.sin((xs - 40) / 220 * np.pi)
    for x, c in zip(xs, centre):
        prob[int(c) - 6:int(c) + 6, x] = 0.9
    params = PostprocessParams(polygons=True)
    (region,) = regions_from_prob(prob, (300, 200), params)
    polygon = np.array(region.polygon)
    assert len(polygon) > 4
    assert Polygon(polygon).is_valid and Polygon(polygon).exterior.is_ccw  # ccw in y-up = clockwise on screen
    assert polygon[0][0] < 60 and polygon[0][1] < 100  # starts at the text's top-left
    assert regions_from_prob(prob, (300, 200)) == []  # as a quad, the arc scores too low
    (quad,) = regions_from_prob(prob, (300, 200), PostprocessParams(box_thresh=0.2))
    assert Polygon(polygon).area < 0.7 * Polygon(quad.polygon).area  # the polygon hugs the arc
    slow = regions_from_prob(prob, (300, 200), PostprocessParams(polygons=True, score_mode="slow"))
    assert slow[0].score > region.score


def test_a_busy_1280x720_map_is_fast():
    rng = np.random.default_rng(0)
    boxes = [text_box((x + 32, y + 24), rng.uniform(10, 40), rng.uniform(4, 8), rng.uniform(-20, 20))
             for x in range(0, 1280, 64) for y in range(0, 720, 48)]  # 300 words on a grid
    prob = kernel_map(boxes, (720, 1280))
    start = time.perf_counter()
    regions = regions_from_prob(prob, (1280, 720))
    elapsed = time.perf_counter() - start
    assert len(regions) == 300
    assert elapsed < 0.5  # typically ~20 ms
