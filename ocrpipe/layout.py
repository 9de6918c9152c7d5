"""Words → lines → blocks, in reading order.

Everything happens in a *reading frame*: coordinates (u, v) where the text runs along +u and the next line is
towards +v. For upright text that is just (x, y); for text rotated by `angle` degrees counter-clockwise the page is
turned back by that angle first, so a page scanned sideways reads like an upright one.

1. `group_by_angle`: words of about the same angle share a frame (a page may mix upright and sideways text).
2. `build_lines`: words whose vertical extents overlap form a row; a row is cut where the gap between two words is
   large for their height (so two columns never share a line). Words in a line run along +u.
3. `build_blocks`: a line and the line just below it join one block when they are close, of similar height,
   overlap horizontally, and each is the other's only such neighbour (so a heading over two columns stays apart).
4. `order_blocks`: recursive XY-cut in the frame of the most common angle, columns before rows: split at a vertical
   gap if there is one (left column first), else at a horizontal gap (top first), else sort top-to-bottom.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from ocrpipe.types import BBox, Block, Line, Point, Word

FrameBox = tuple[float, float, float, float]  # u0, v0, u1, v1 in a reading frame

ANGLE_TOLERANCE = 20.0  # degrees: words within this of a group's first word read in the same frame
SAME_ROW_OVERLAP = 0.5  # vertical overlap, as a fraction of the shorter word, for two words to share a row
WORD_GAP = 1.0  # a horizontal gap wider than this × the words' mean height ends a line
BLOCK_GAP = 1.0  # lines of one block are at most this × the shorter line's height apart vertically
BLOCK_HEIGHT_RATIO = 1.5  # lines of one block differ in height by at most this factor


def build_page_blocks(words: Sequence[Word]) -> list[Block]:
    """The page's blocks in reading order, each with its lines top to bottom and their words in reading order."""
    if not words:
        return []
    groups = group_by_angle(words)
    blocks: list[Block] = []
    for group in groups:
        angle = mean_angle(group)
        blocks += build_blocks(build_lines(group, angle), angle)
    return merge_overlapping(order_blocks(blocks, mean_angle(groups[0])))


# ---------------------------------------------------------------------------------------------------------------
# Overlaps: hOCR readers (and hocr-check) expect the boxes of lines and of blocks not to overlap much. Rotated or
# crowded text can give such boxes; those lines (and their blocks) are merged into one.

MAX_OVERLAP = 0.15  # of the larger box's area (hocr-check allows 0.2 on its integer boxes)


def relative_overlap(a: BBox, b: BBox) -> float:
    """Intersection area over the larger box's area, on whole-pixel boxes rounded outward as the exporters do."""
    a = (math.floor(a[0]), math.floor(a[1]), math.ceil(a[2]), math.ceil(a[3]))
    b = (math.floor(b[0]), math.floor(b[1]), math.ceil(b[2]), math.ceil(b[3]))
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    larger = max((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / larger if larger > 0 else 1.0


def _overlapping_pairs(boxes: Sequence[BBox]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if relative_overlap(boxes[i], boxes[j]) > MAX_OVERLAP]


def _connected(count: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Groups of indices 0..count-1 linked by `pairs`, each group and the list ordered by first index."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in pairs:
        a, b = root(i), root(j)
        parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def merge_overlapping(blocks: list[Block]) -> list[Block]:
    """Merge blocks whose boxes, or any of whose lines' boxes, overlap; then overlapping lines inside a block; until
    no two blocks and no two lines of the page overlap. Untouched blocks keep their lines and order."""
    while True:
        pairs = _overlapping_pairs([block.bbox for block in blocks])
        lines = [(index, line) for index, block in enumerate(blocks) for line in block.lines]
        pairs += [(lines[i][0], lines[j][0]) for i, j in _overlapping_pairs([line.bbox for _, line in lines])]
        merged = [_merge_block([blocks[i] for i in group]) for group in _connected(len(blocks), pairs)]
        if all(a is b for a, b in zip(merged, blocks)) and len(merged) == len(blocks):
            return merged
        blocks = merged


def _merge_block(blocks: list[Block]) -> Block:
    """One block from `blocks`; overlapping lines joined (words left to right), lines top to bottom."""
    lines = [line for block in blocks for line in block.lines]
    groups = _connected(len(lines), _overlapping_pairs([line.bbox for line in lines]))
    if len(blocks) == 1 and len(groups) == len(lines):
        return blocks[0]
    joined = [Line(sorted((w for i in group for w in lines[i].words), key=lambda w: (w.bbox[0] + w.bbox[2]) / 2))
              for group in groups]
    return Block(sorted(joined, key=lambda line: line.bbox[1]))


# ---------------------------------------------------------------------------------------------------------------
# Reading frame


def to_frame(point: Point, angle: float) -> tuple[float, float]:
    """A page point in the reading frame of text rotated `angle` degrees counter-clockwise."""
    theta = math.radians(angle)
    x, y = point
    return (x * math.cos(theta) - y * math.sin(theta), x * math.sin(theta) + y * math.cos(theta))


def frame_box(words: Sequence[Word], angle: float) -> FrameBox:
    """Axis-aligned box around the words' polygons, in the reading frame."""
    points = [to_frame(point, angle) for word in words for point in word.polygon]
    us = [u for u, _ in points]
    vs = [v for _, v in points]
    return (min(us), min(vs), max(us), max(vs))


def normalized_angle(angle: float) -> float:
    """`angle` in [-45, 315): upright, sideways and upside-down text each get one range, far from the wrap-around."""
    return (angle + 45.0) % 360.0 - 45.0


def mean_angle(words: Sequence[Word]) -> float:
    return sum(normalized_angle(word.angle) for word in words) / len(words)


def group_by_angle(words: Sequence[Word], tolerance: float = ANGLE_TOLERANCE) -> list[list[Word]]:
    """Words split into groups of similar angle, the largest group first."""
    ordered = sorted(words, key=lambda word: normalized_angle(word.angle))
    groups: list[list[Word]] = []
    for word in ordered:
        if groups and normalized_angle(word.angle) - normalized_angle(groups[-1][0].angle) <= tolerance:
            groups[-1].append(word)
        else:
            groups.append([word])
    return sorted(groups, key=len, reverse=True)  # stable: equal sizes keep angle order


# ---------------------------------------------------------------------------------------------------------------
# Lines


def build_lines(words: Sequence[Word], angle: float = 0.0) -> list[Line]:
    """Words (all read in the frame of `angle`) grouped into lines; lines in no particular order."""
    boxes = {id(word): frame_box([word], angle) for word in words}
    rows: list[list[Word]] = []
    row_spans: list[tuple[float, float]] = []  # v0, v1 of each row
    for word in sorted(words, key=lambda w: (_centre_v(boxes[id(w)]), boxes[id(w)][0])):
        _, v0, _, v1 = boxes[id(word)]
        best, best_overlap = None, SAME_ROW_OVERLAP
        for index, (row_v0, row_v1) in enumerate(row_spans):
            overlap = _overlap(v0, v1, row_v0, row_v1) / max(min(v1 - v0, row_v1 - row_v0), 1e-6)
            if overlap >= best_overlap:
                best, best_overlap = index, overlap
        if best is None:
            rows.append([word])
            row_spans.append((v0, v1))
        else:
            rows[best].append(word)
            row_v0, row_v1 = row_spans[best]
            row_spans[best] = (min(row_v0, v0), max(row_v1, v1))
    return [Line(segment) for row in rows for segment in _split_at_gaps(row, boxes)]


def _split_at_gaps(row: list[Word], boxes: dict[int, FrameBox]) -> list[list[Word]]:
    """A row's words along +u, cut wherever the gap exceeds WORD_GAP × the neighbours' mean height."""
    ordered = sorted(row, key=lambda word: boxes[id(word)][0])
    segments = [[ordered[0]]]
    reach = boxes[id(ordered[0])][2]  # furthest u1 of the current segment
    for previous, word in zip(ordered, ordered[1:]):
        u0, v0, u1, v1 = boxes[id(word)]
        height = ((v1 - v0) + _height(boxes[id(previous)])) / 2
        if u0 - reach > WORD_GAP * height:
            segments.append([word])
            reach = u1
        else:
            segments[-1].append(word)
            reach = max(reach, u1)
    return segments


# ---------------------------------------------------------------------------------------------------------------
# Blocks


def build_blocks(lines: Sequence[Line], angle: float = 0.0) -> list[Block]:
    """Lines chained into blocks (see the module docstring); blocks in no particular order."""
    boxes = [frame_box(line.words, angle) for line in lines]
    order = sorted(range(len(lines)), key=lambda i: (boxes[i][1], boxes[i][0]))
    below: dict[int, list[int]] = {i: [] for i in order}
    above: dict[int, list[int]] = {i: [] for i in order}
    for position, upper in enumerate(order):
        for lower in order[position + 1:]:
            if boxes[lower][1] > boxes[upper][3] + BLOCK_GAP * _height(boxes[upper]):
                break  # sorted by top: every later line starts even lower
            if _continues(boxes[upper], boxes[lower]):
                below[upper].append(lower)
                above[lower].append(upper)

    next_line = {upper: below[upper][0] for upper in order
                 if len(below[upper]) == 1 and len(above[below[upper][0]]) == 1}
    has_previous = set(next_line.values())
    blocks = []
    for first in order:
        if first in has_previous:
            continue
        chain = [first]
        while chain[-1] in next_line:
            chain.append(next_line[chain[-1]])
        blocks.append(Block([lines[i] for i in chain]))
    return blocks


def _continues(upper: FrameBox, lower: FrameBox) -> bool:
    """Could `lower` be the next line of the same block as `upper`?"""
    upper_height, lower_height = _height(upper), _height(lower)
    shorter, taller = sorted((upper_height, lower_height))
    same_row = _overlap(upper[1], upper[3], lower[1], lower[3]) >= SAME_ROW_OVERLAP * shorter
    return (not same_row
            and _centre_v(lower) > _centre_v(upper)
            and lower[1] - upper[3] <= BLOCK_GAP * shorter
            and taller <= BLOCK_HEIGHT_RATIO * max(shorter, 1e-6)
            and _overlap(upper[0], upper[2], lower[0], lower[2]) > 0)


# ---------------------------------------------------------------------------------------------------------------
# Reading order


def order_blocks(blocks: Sequence[Block], angle: float = 0.0) -> list[Block]:
    """Blocks in reading order in the frame of `angle`: columns before rows (recursive XY-cut)."""
    return _xy_cut([(frame_box(block_words(block), angle), block) for block in blocks])


def block_words(block: Block) -> list[Word]:
    return [word for line in block.lines for word in line.words]


def _xy_cut(items: list[tuple[FrameBox, Block]]) -> list[Block]:
    if len(items) <= 1:
        return [block for _, block in items]
    for axis in (0, 1):  # 0: cut into columns (gaps along u), 1: cut into rows (gaps along v)
        parts = _split_on_axis(items, axis)
        if len(parts) > 1:
            return [block for part in parts for block in _xy_cut(part)]
    return [block for _, block in sorted(items, key=lambda item: (item[0][1], item[0][0]))]


def _split_on_axis(items: list[tuple[FrameBox, Block]], axis: int) -> list[list[tuple[FrameBox, Block]]]:
    """Items split wherever nothing covers a stretch of the axis; parts in increasing order along it."""
    ordered = sorted(items, key=lambda item: item[0][axis])
    parts = [[ordered[0]]]
    reach = ordered[0][0][axis + 2]
    for item in ordered[1:]:
        start, end = item[0][axis], item[0][axis + 2]
        if start > reach:
            parts.append([item])
        else:
            parts[-1].append(item)
        reach = max(reach, end)
    return parts


# ---------------------------------------------------------------------------------------------------------------
# Small geometry


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Length of the overlap of two intervals (0 when apart)."""
    return max(0.0, min(a1, b1) - max(a0, b0))


def _height(box: FrameBox) -> float:
    return box[3] - box[1]


def _centre_v(box: FrameBox) -> float:
    return (box[1] + box[3]) / 2
