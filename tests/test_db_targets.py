import numpy as np
import pytest
from shapely.geometry import Polygon

from ocrpipe.detectors.db.targets import make_targets, offset_distance


def rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def rotated(polygon, angle_deg, centre):
    a = np.radians(angle_deg)
    m = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    return (polygon - centre) @ m.T + centre


@pytest.mark.parametrize("polygon", [rect(20, 30, 120, 60), rect(20, 30, 120, 60)[::-1],
                                     rotated(rect(40, 60, 160, 100), 30, (100, 80))])
def test_shrunk_text_area_matches_the_offset_formula(polygon):
    t = make_targets([polygon], [False], 160, 200)
    shape = Polygon(polygon)
    d = offset_distance(polygon)
    assert d == pytest.approx(shape.area * (1 - 0.4 ** 2) / shape.length)
    # Inward offset of a convex polygon by d with round joins: A - L d + (corner terms) ~ A - L d + 4 d^2.
    expected = shape.area - shape.length * d + 4 * d * d
    assert t.gt.sum() == pytest.approx(expected, rel=0.12)
    assert set(np.unique(t.gt)) == {0.0, 1.0}
    assert t.mask.min() == 1.0  # nothing ignored


def test_shrunk_map_lies_inside_the_polygon_and_holds_its_centre():
    t = make_targets([rect(20, 30, 120, 60)], [False], 100, 150)
    assert t.gt[45, 70] == 1.0
    ys, xs = np.nonzero(t.gt)
    assert xs.min() > 20 and xs.max() < 120 and ys.min() > 30 and ys.max() < 60


def test_threshold_map_range_and_shape():
    polygon = rect(40, 40, 140, 70)
    t = make_targets([polygon], [False], 120, 180)
    assert t.thresh.min() == pytest.approx(0.3)
    assert t.thresh.max() <= 0.7 + 1e-6
    assert t.thresh.max() > 0.69  # on the border
    assert t.thresh[55, 90] == pytest.approx(0.3, abs=0.02)  # middle of the text, far from its edges
    assert t.thresh[5, 5] == pytest.approx(0.3)  # background
    d = offset_distance(polygon)
    assert t.thresh_mask[40, 90] == 1.0 and t.thresh_mask[int(40 - d) - 2, 90] == 0.0
    assert t.thresh_mask[int(40 - d) + 1, 90] == 1.0
    # Rises towards the edge: half-way through the band is about half-way between 0.3 and 0.7.
    assert t.thresh[int(round(40 - d / 2)), 90] == pytest.approx(0.5, abs=0.05)


def test_ignored_and_tiny_polygons_are_masked_out():
    care = rect(10, 10, 90, 40)
    dont_care = rect(10, 60, 90, 90)
    tiny = rect(120, 10, 170, 15)  # 5 px high
    t = make_targets([care, dont_care, tiny], [False, True, False], 100, 200)
    assert t.mask[75, 50] == 0.0 and t.gt[75, 50] == 0.0
    assert t.mask[12, 140] == 0.0 and t.gt[12, 140] == 0.0
    assert t.mask[25, 50] == 1.0 and t.gt[25, 50] == 1.0
    assert t.thresh_mask[75, 50] == 0.0 and t.thresh_mask[12, 140] == 0.0
    assert t.mask[50, 150] == 1.0  # background stays in the loss


def test_rotated_thin_text_uses_its_own_height_for_the_size_test():
    # 6 px high line at 45 degrees: its axis-aligned extent is large, it is still too thin to learn.
    thin = rotated(rect(50, 97, 150, 103), 45, (100, 100))
    t = make_targets([thin], [False], 200, 200)
    assert t.gt.sum() == 0 and t.mask[100, 100] == 0.0


def test_polygons_partly_outside_are_clipped():
    t = make_targets([rect(-50, 20, 60, 50)], [False], 80, 100)
    assert t.gt[35, 30] == 1.0 and t.gt.shape == (80, 100)
