"""Layout: words → lines → blocks in reading order, upright and rotated."""
from __future__ import annotations

import math
import random

import pytest

from ocrpipe.layout import build_page_blocks, group_by_angle, merge_overlapping, relative_overlap, to_frame
from ocrpipe.types import Block, Line, Word

CENTRE = (500.0, 500.0)


def make_word(text: str, x: float, y: float, width: float | None = None, height: float = 20.0,
              angle: float = 0.0) -> Word:
    """A word laid out upright at (x, y) on a 1000×1000 page, then the whole page turned `angle`° counter-clockwise
    about its centre (so words made with the same angle keep their relative layout)."""
    width = width if width is not None else 12.0 * len(text)
    corners = [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]  # clockwise from top-left
    theta = math.radians(angle)
    cx, cy = CENTRE

    def turn(point: tuple[float, float]) -> tuple[float, float]:
        u, v = point[0] - cx, point[1] - cy
        return (cx + u * math.cos(theta) + v * math.sin(theta), cy - u * math.sin(theta) + v * math.cos(theta))

    return Word(text, 0.9, [turn(corner) for corner in corners], [0.9] * len(text), angle)


def make_line(text: str, x: float, y: float, angle: float = 0.0) -> list[Word]:
    """The words of `text` side by side from (x, y), one 8-px space apart."""
    words = []
    for token in text.split():
        words.append(make_word(token, x, y, angle=angle))
        x += 12.0 * len(token) + 8.0
    return words


def lines_of(blocks: list[Block]) -> list[list[str]]:
    return [[line.text for line in block.lines] for block in blocks]


def shuffled(words: list[Word]) -> list[Word]:
    words = list(words)
    random.Random(0).shuffle(words)
    return words


def two_column_page(angle: float = 0.0) -> list[Word]:
    """A heading across the page, then two columns of four two-word lines."""
    words = [make_word("Heading", 100, 40, width=500, height=24, angle=angle)]
    for row in range(4):
        y = 100 + 25 * row
        words += [make_word(f"L{row}a", 100, y, angle=angle), make_word(f"L{row}b", 150, y, angle=angle),
                  make_word(f"R{row}a", 400, y, angle=angle), make_word(f"R{row}b", 450, y, angle=angle)]
    return words


def test_no_words_no_blocks():
    assert build_page_blocks([]) == []


def test_single_line_reads_left_to_right():
    blocks = build_page_blocks(shuffled(make_line("OPEN 24 HOURS", 100, 100)))
    assert lines_of(blocks) == [["OPEN 24 HOURS"]]


def test_two_lines_form_one_block_top_to_bottom():
    words = make_line("first line", 100, 100) + make_line("second line", 100, 125)
    assert lines_of(build_page_blocks(shuffled(words))) == [["first line", "second line"]]


def test_words_of_different_heights_on_one_baseline_share_a_line():
    words = [make_word("BIG", 100, 100, height=40), make_word("small", 150, 120, height=20)]
    assert lines_of(build_page_blocks(words)) == [["BIG small"]]


def test_large_gap_splits_a_line():
    words = make_line("left side", 100, 100) + [make_word("far", 400, 100)]
    blocks = build_page_blocks(shuffled(words))
    assert lines_of(blocks) == [["left side"], ["far"]]


def test_two_columns_read_column_by_column_after_the_heading():
    blocks = build_page_blocks(shuffled(two_column_page()))
    assert lines_of(blocks) == [
        ["Heading"],
        ["L0a L0b", "L1a L1b", "L2a L2b", "L3a L3b"],
        ["R0a R0b", "R1a R1b", "R2a R2b", "R3a R3b"],
    ]


def test_paragraphs_of_a_column_stay_in_order():
    words = [make_word(f"p1l{i}", 100, 100 + 25 * i) for i in range(3)]
    words += [make_word(f"p2l{i}", 100, 200 + 25 * i) for i in range(3)]  # 25 px gap: a new paragraph
    assert lines_of(build_page_blocks(shuffled(words))) == [["p1l0", "p1l1", "p1l2"], ["p2l0", "p2l1", "p2l2"]]


def test_large_heading_is_its_own_block():
    words = [make_word("Title", 100, 60, height=40), make_word("body", 100, 105), make_word("text", 100, 130)]
    assert lines_of(build_page_blocks(shuffled(words))) == [["Title"], ["body", "text"]]


@pytest.mark.parametrize("angle", [90.0, 180.0, 270.0, -90.0, 3.0, -4.0])
def test_rotated_page_reads_like_the_upright_one(angle):
    upright = lines_of(build_page_blocks(two_column_page()))
    assert lines_of(build_page_blocks(shuffled(two_column_page(angle)))) == upright


def test_sideways_label_on_an_upright_page_stays_apart():
    words = make_line("upright text", 100, 100) + make_line("more text", 100, 125)
    label = make_word("SIDEWAYS", 800, 100, width=20, height=100)
    label.angle = 90.0  # reads bottom to top: its own frame, its own block
    blocks = build_page_blocks(shuffled(words + [label]))
    assert lines_of(blocks) == [["upright text", "more text"], ["SIDEWAYS"]]


def test_group_by_angle_puts_the_largest_group_first_and_wraps_around_zero():
    words = [make_word("a", 0, 0, angle=359.0), make_word("b", 0, 0, angle=1.0), make_word("c", 0, 0, angle=90.0)]
    groups = group_by_angle(words)
    assert [sorted(w.text for w in group) for group in groups] == [["a", "b"], ["c"]]


def test_reading_frame_of_sideways_text_runs_bottom_to_top():
    # Text turned 90° counter-clockwise reads upwards: a point higher on the page is further along the line.
    lower, higher = to_frame((100, 300), 90.0), to_frame((100, 200), 90.0)
    assert higher[0] > lower[0]


def test_overlapping_lines_and_blocks_are_merged():
    # A word straddling two lines makes their boxes overlap; a stray word sits on top of the second block.
    words = make_line("alpha beta", 10, 10) + make_line("gamma delta", 10, 40) + [make_word("tall", 250, 5, height=60)]
    words += make_line("far away", 10, 300) + [make_word("stray", 20, 298)]
    blocks = merge_overlapping([Block([Line([w])]) for w in words])
    boxes = [line.bbox for block in blocks for line in block.lines]
    assert all(relative_overlap(a, b) <= 0.15 for i, a in enumerate(boxes) for b in boxes[i + 1:])
    block_boxes = [block.bbox for block in blocks]
    assert all(relative_overlap(a, b) <= 0.15 for i, a in enumerate(block_boxes) for b in block_boxes[i + 1:])
    assert sorted(w.text for block in blocks for line in block.lines for w in line.words) == sorted(
        w.text for w in words)


def test_rotated_crowded_text_gives_no_overlapping_lines():
    words = [w for row in range(4) for w in make_line("one two three four", 100, 100 + 22 * row, angle=40)]
    blocks = build_page_blocks(words)
    boxes = [line.bbox for block in blocks for line in block.lines]
    assert all(relative_overlap(a, b) <= 0.15 for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert len([w for block in blocks for line in block.lines for w in line.words]) == len(words)
