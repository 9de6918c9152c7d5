"""The detector's text-height scale choice: the pure rule, and the shipped detector looking once or twice."""
import cv2
import numpy as np
import pytest

from ocrpipe.detectors.db.predictor import DBDetector
from ocrpipe.detectors.db.scale import TextScale, region_height, second_look_ratio
from ocrpipe.models import resolve

POLICY = TextScale(probe_ratio=0.75, target_height=28.0, quantile=0.25, min_regions=3, margin=1.15)


def test_region_height_is_the_short_side_of_a_turned_box():
    box = cv2.boxPoints(((100.0, 50.0), (80.0, 12.0), 30.0))
    assert region_height(box) == pytest.approx(12.0, abs=0.01)
    assert region_height([(0, 0), (5, 0), (5, 40), (0, 40)]) == pytest.approx(5.0)


def test_small_text_gets_a_second_look_that_brings_it_to_the_target_height():
    heights = [8.0, 10.0, 10.0, 12.0, 30.0]  # first quartile 10 px in the original image
    assert second_look_ratio(heights, 0.75, 2.0, POLICY) == pytest.approx(2.0)  # 2.8 wanted, capped at 2
    assert second_look_ratio(heights, 0.75, 3.0, POLICY) == pytest.approx(2.8)
    assert second_look_ratio([20.0] * 5, 0.75, 2.0, POLICY) == pytest.approx(1.4)


def test_the_first_look_stands_for_tall_text_little_text_or_no_room_to_enlarge():
    assert second_look_ratio([40.0, 50.0, 60.0], 0.75, 2.0, POLICY) is None  # wants 0.7: below the probe
    assert second_look_ratio([34.0] * 4, 0.75, 2.0, POLICY) is None  # wants 0.82: within the margin
    assert second_look_ratio([5.0, 6.0], 0.75, 2.0, POLICY) is None  # too few regions to measure
    assert second_look_ratio([5.0] * 10, 0.75, 0.8, POLICY) is None  # the image may not be enlarged further
    assert second_look_ratio([0.0] * 10, 0.75, 2.0, POLICY) == pytest.approx(2.0)  # degenerate heights


def _page(text_height: int, lines: int = 6) -> np.ndarray:
    """A white page of dark Hershey text whose capitals are about `text_height` px tall."""
    scale = text_height / 22.0
    width = int(40 * text_height * 1.1) + 40
    image = np.full((int(lines * text_height * 2.2) + 40, width, 3), 250, np.uint8)
    for row in range(lines):
        cv2.putText(image, f"Invoice 20{row}7 TOTAL {row}5.90", (20, 20 + int((row + 1) * text_height * 2.2)),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), max(1, round(scale * 2)))
    return image


def _looks(detector: DBDetector, image: np.ndarray) -> tuple[list, list[tuple[int, int]]]:
    """The regions the detector finds and the input sizes (h, w) its network was run at."""
    sizes = []
    network = detector.network

    def recording(tensors):
        sizes.extend(tuple(t.shape[1:]) for t in tensors)
        return network(tensors)

    detector.network = recording
    return detector.detect([image])[0], sizes


def test_the_shipped_detector_reads_large_text_in_one_small_look_and_small_print_in_two():
    _, path = resolve("db-ppocr", "detector")
    detector = DBDetector.from_file(path)
    assert detector.text_scale is not None  # the shipped weights carry their scale settings

    large = _page(text_height=40)
    regions, sizes = _looks(detector, large)
    assert len(sizes) == 1 and sizes[0][1] < large.shape[1]  # one look, smaller than the image
    assert len(regions) >= 22  # 6 lines of 4 words, give or take a split or a join

    small = _page(text_height=9)
    regions, sizes = _looks(detector, small)
    assert len(sizes) == 2 and sizes[1][1] >= 2 * small.shape[1] - 32  # a second look, enlarged about 2x
    assert len(regions) >= 20
    heights = sorted(region_height(region.polygon) for region in regions)
    assert 5 <= heights[len(heights) // 2] <= 20  # boxes mapped back to the original pixels


def test_a_fixed_input_side_turns_the_scale_choice_off():
    _, path = resolve("db-ppocr", "detector")
    detector = DBDetector.from_file(path, limit_side=1280)
    assert detector.text_scale is None
    _, sizes = _looks(detector, _page(text_height=9))
    assert len(sizes) == 1
