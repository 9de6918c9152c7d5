"""Lines first, then words (detectors/db/line_words.py): the pure pieces, and the shipped pair on small print."""
import cv2
import numpy as np
import pytest

from ocrpipe.detectors.db.line_words import (LineWordDetector, LineWords, Placement, cut_strip, pack_strips,
                                             paint_canvases, suppress_overlaps, words_from_canvas,
                                             words_into_strip)
from ocrpipe.geometry import min_area_quad
from ocrpipe.models import load_detector
from ocrpipe.types import Region, bbox_of


def test_strips_are_packed_in_rows_and_a_new_canvas_starts_when_one_is_full():
    sizes = [(600, 50), (600, 50), (600, 50), (1500, 50), (100, 50)]
    placements = pack_strips(sizes, width=1300, max_height=120, gap=10)
    assert placements[:3] == [Placement(0, 0, 0), Placement(0, 610, 0), Placement(0, 0, 60)]
    assert placements[3] == Placement(1, 0, 0)  # row 3 would end at 170 > 120: next canvas
    assert placements[4] == Placement(1, 0, 60)  # no room beside a full-width strip
    # one strip taller than a canvas still gets one, alone
    assert pack_strips([(80, 500), (80, 500)], 100, 120, 0) == [Placement(0, 0, 0), Placement(1, 0, 0)]


def test_a_word_found_in_a_strip_maps_back_onto_the_turned_line_it_came_from():
    image = np.full((400, 600, 3), 255, np.uint8)
    line = cv2.boxPoints(((300.0, 200.0), (400.0, 20.0), -20.0))  # a 400 x 20 line turned by 20 degrees
    settings = LineWords(text_height=40, margin=0.25)
    strip = cut_strip(image, line, settings)
    assert strip.image.shape[:2] == (60, 820)  # 40 px text + 10 px margin above and below; width scaled by 2
    assert strip.pad == pytest.approx(10)
    placements = [Placement(0, 30, 5)]
    (canvas,) = paint_canvases([strip], placements)
    assert canvas.shape[:2] == (65, 850)
    # the whole line as seen in the strip (inside the margins), shifted by the placement
    found = [Region(polygon=[(40, 15), (840, 15), (840, 55), (40, 55)], score=0.9)]
    (word,) = words_from_canvas(found, 0, [strip], placements)
    assert np.abs(np.asarray(word.polygon) - min_area_quad(line)).max() < 1.0


def test_words_centred_in_a_margin_or_on_another_canvas_are_dropped():
    image = np.full((100, 200, 3), 255, np.uint8)
    settings = LineWords(text_height=40, margin=0.25)
    strip = cut_strip(image, [(10, 10), (110, 10), (110, 30), (10, 30)], settings)
    placements = [Placement(0, 0, 0)]
    in_margin = Region(polygon=[(10, 0), (50, 0), (50, 8), (10, 8)], score=0.9)  # the next line's edge
    inside = Region(polygon=[(10, 12), (50, 12), (50, 48), (10, 48)], score=0.9)
    (kept,) = words_from_canvas([in_margin, inside], 0, [strip], placements)
    assert kept.line == 0  # the index of the strip (the detected line) it came from
    assert words_from_canvas([inside], 1, [strip], placements) == []


def test_training_words_go_into_a_strip_and_come_back_where_they_were():
    image = np.full((300, 400, 3), 255, np.uint8)
    line = np.array([(50, 100), (350, 130), (348, 150), (48, 120)], float)  # a slightly turned line
    word = np.array([(60, 101), (150, 110), (148, 130), (58, 121)], float)
    above = np.array([(60, 80), (150, 89), (148, 106), (58, 97)], float)  # the next line up, seen in the margin
    strip = cut_strip(image, line, LineWords(text_height=40, margin=0.3))
    placement = Placement(0, 100, 20)
    (mapped, ignored), (edge, edge_ignored) = words_into_strip([word, above], [False, False], strip, placement)
    assert not ignored and edge_ignored  # the word is to be found; the neighbour's edge is don't-care
    back = words_from_canvas([Region(polygon=[tuple(p) for p in mapped], score=1.0)], 0, [strip], [placement])
    assert np.abs(np.asarray(back[0].polygon) - word).max() < 1e-6


def test_the_same_word_found_twice_is_kept_once_with_the_better_score():
    a = Region(polygon=[(0, 0), (100, 0), (100, 20), (0, 20)], score=0.7)
    b = Region(polygon=[(5, 1), (100, 1), (100, 21), (5, 21)], score=0.9)
    c = Region(polygon=[(120, 0), (200, 0), (200, 20), (120, 20)], score=0.6)
    kept = suppress_overlaps([a, b, c], overlap=0.5)
    assert kept == [b, c]


def test_the_shipped_pair_splits_small_print_into_words():
    """9-px print in the middle of a large white scan, where the word detector alone finds one box (measured)."""
    page = np.full((1500, 1100, 3), 250, np.uint8)
    lines = ["TOTAL AMOUNT 12.50", "CASH PAID 20.00", "THANK YOU PLEASE COME AGAIN"]
    for row, text in enumerate(lines):
        cv2.putText(page, text, (420, 700 + 22 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (20, 20, 20), 1,
                    cv2.LINE_AA)
    detector, info = load_detector("db-ppocr")
    assert isinstance(detector, LineWordDetector) and info.name == "db-ppocr"
    regions = detector.detect([page])[0]
    words = sum(len(text.split()) for text in lines)
    assert words - 2 <= len(regions) <= words  # Hershey's tight spacing may join a pair (measured: 10 of 11)
    for region in regions:  # each word box lies on the printed lines
        x0, y0, x1, y1 = bbox_of(region.polygon)
        assert 400 <= x0 < x1 <= 700 and 680 <= y0 < y1 <= 760
        assert x1 - x0 < 120  # a word, not a line


def test_the_line_finder_takes_the_detector_side_option():
    detector, _ = load_detector("db-ppocr", limit_side=1280)
    assert detector.settings.line_side == 1280 and detector.lines.config.limit_side == 1280
