"""Line boxes -> word boxes: with a transcript (training data) and from the ink gaps alone (line detectors)."""
import cv2
import numpy as np
import pytest

from ocrpipe.detectors.db.words import split_at_gaps, split_line


def printed_line(text: str, angle: float = 0.0):
    """A white image with one printed line, and the line's quad (rotated by `angle` degrees with the image)."""
    image = np.full((120, 460, 3), 255, np.uint8)
    cv2.putText(image, text, (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
    quad = np.array([[12, 42], [440, 42], [440, 80], [12, 80]], float)
    if angle:
        matrix = cv2.getRotationMatrix2D((230, 60), angle, 1.0)
        image = cv2.warpAffine(image, matrix, (460, 120), borderValue=(255, 255, 255))
        quad = np.hstack([quad, np.ones((4, 1))]) @ matrix.T
    return image, quad


def test_split_line_cuts_a_printed_line_into_its_words():
    image = np.full((60, 400, 3), 255, np.uint8)
    cv2.putText(image, "TOTAL  RM 12.50", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
    line = np.array([[5, 12], [300, 12], [300, 48], [5, 48]], float)
    pieces = split_line(image, line, "TOTAL RM 12.50")
    assert len(pieces) == 3
    lefts = [p[:, 0].min() for p in pieces]
    assert lefts == sorted(lefts) and all(p[:, 1].min() == pytest.approx(12) for p in pieces)
    assert split_line(image, line, "TOTAL RM 12 . 50 EXTRA WORDS") is None  # the ink cannot hold 7 words


@pytest.mark.parametrize("angle", [0.0, 8.0])
def test_split_at_gaps_finds_the_words_of_a_line_without_its_transcript(angle):
    image, quad = printed_line("INVOICE  NO  2024-17  PAID", angle)
    pieces = split_at_gaps(image, quad)
    assert len(pieces) == 4
    centres = [p.mean(axis=0) for p in pieces]
    direction = quad[1] - quad[0]
    along = [float(np.dot(c - quad[0], direction)) for c in centres]
    assert along == sorted(along)  # in reading order along the line
    # each piece holds exactly one word: a gap of blank columns on both sides of its inner edges
    total = sum(float(np.hypot(*(p[1] - p[0]))) for p in pieces)
    assert total < float(np.hypot(*direction))


def test_split_at_gaps_keeps_single_words_and_vertical_text_whole():
    image, quad = printed_line("CONSTITUTIONAL")
    assert len(split_at_gaps(image, quad)) == 1
    tall = np.array([[200, 10], [240, 10], [240, 110], [200, 110]], float)
    (same,) = split_at_gaps(image, tall)
    assert np.array_equal(same, tall)
    blank = np.full((120, 460, 3), 255, np.uint8)
    assert len(split_at_gaps(blank, quad)) == 1
