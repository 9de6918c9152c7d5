"""Does a page read the same turned? The words of a turned page are matched back to the upright page's words, and
its lines and reading order are compared with the upright page's (issue #23: tilt-proof layout).

    image, matrix = turn_image(upright_image, 7.0)
    agreement = line_agreement(pipeline.run(upright_image), pipeline.run(image), matrix)
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import cv2
import numpy as np

from ocrpipe.types import BBox, Page, bbox_of

MATCH_IOU = 0.5  # a turned word, turned back, is the upright word it overlaps this much


@dataclass
class LineAgreement:
    words: int = 0  # words of the upright page
    matched: int = 0  # ... found again on the turned page
    same_text: int = 0  # ... and read the same
    lines: int = 0  # upright lines with a matched word
    same_lines: int = 0  # ... whose matched words make up one line of the turned page, in the same order
    order_matches: int = 0  # upright lines read in the same order (difflib matching blocks over line ids)

    def __add__(self, other: "LineAgreement") -> "LineAgreement":
        return LineAgreement(*(a + b for a, b in zip(vars(self).values(), vars(other).values())))


def turn_image(image: np.ndarray, angle: float, border: tuple[int, int, int] = (255, 255, 255)
               ) -> tuple[np.ndarray, np.ndarray]:
    """The image turned `angle`° counter-clockwise on a canvas grown to hold all of it; returns it and the 2×3
    matrix that takes upright points to turned ones."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos))
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    turned = cv2.warpAffine(image, matrix, (new_width, new_height), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    return turned, matrix


def line_agreement(upright: Page, turned: Page, matrix: np.ndarray) -> LineAgreement:
    """Compare the turned page's words, lines and reading order with the upright page's; `matrix` takes upright
    points to turned ones (as `turn_image` returns it)."""
    back = cv2.invertAffineTransform(matrix)
    upright_lines = [line for block in upright.blocks for line in block.lines]
    turned_lines = [line for block in turned.blocks for line in block.lines]
    upright_words = [(li, wi, w) for li, line in enumerate(upright_lines) for wi, w in enumerate(line.words)]
    turned_words = [(li, wi, w) for li, line in enumerate(turned_lines) for wi, w in enumerate(line.words)]
    turned_boxes = [bbox_of(cv2.transform(np.float64([w.polygon]), back)[0].tolist()) for _, _, w in turned_words]

    overlaps = box_ious([w.bbox for _, _, w in upright_words], turned_boxes)
    match: dict[int, int] = {}  # upright word -> turned word, greedily by overlap
    used: set[int] = set()
    for i, j in zip(*np.unravel_index(np.argsort(-overlaps, axis=None), overlaps.shape)):
        if overlaps[i, j] < MATCH_IOU:
            break
        if i not in match and j not in used:
            match[int(i)] = int(j)
            used.add(int(j))

    result = LineAgreement(words=len(upright_words), matched=len(match),
                           same_text=sum(upright_words[i][2].text == turned_words[j][2].text
                                         for i, j in match.items()))
    turned_owner = {j: upright_words[i][0] for i, j in match.items()}  # turned word -> upright line
    for li in range(len(upright_lines)):
        places = [turned_words[match[i]][:2] for i, (line, _, _) in enumerate(upright_words)
                  if line == li and i in match]
        if not places:
            continue
        result.lines += 1
        turned_line = places[0][0]
        others = [j for j, (line, _, _) in enumerate(turned_words)
                  if line == turned_line and j in turned_owner and turned_owner[j] != li]
        in_order = [position for _, position in places] == sorted(position for _, position in places)
        result.same_lines += (all(line == turned_line for line, _ in places) and in_order and not others)

    upright_order = [li for li in range(len(upright_lines))
                     if any(line == li and i in match for i, (line, _, _) in enumerate(upright_words))]
    turned_order: list[int] = []
    for j in sorted(turned_owner, key=lambda j: turned_words[j][:2]):
        if not turned_order or turned_order[-1] != turned_owner[j]:
            turned_order.append(turned_owner[j])
    matcher = difflib.SequenceMatcher(a=upright_order, b=turned_order, autojunk=False)
    result.order_matches = sum(block.size for block in matcher.get_matching_blocks())
    return result


def box_ious(first: list[BBox], second: list[BBox]) -> np.ndarray:
    """Intersection over union of every box of `first` with every box of `second` (a len × len matrix)."""
    if not first or not second:
        return np.zeros((len(first), len(second)))
    a, b = np.asarray(first, dtype=np.float64)[:, None, :], np.asarray(second, dtype=np.float64)[None, :, :]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)
