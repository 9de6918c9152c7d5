"""Full images with word polygons for training the text detector.

An image is built from *blocks*: a block is text laid out in its own flat frame (one word, a sign with a few
lines, a whole document page, a receipt), held as masks plus the word polygons in that frame. A homography puts the
block on the canvas (rotation, perspective, scale), optionally after bending it; masks and polygons move together,
so the polygons stay exact. Three kinds of image:

- document: a page (paper panel) with a heading, paragraphs in 1–3 columns and sometimes a table, scanned
  (page fills the image) or photographed (page smaller, tilted, on a textured surface);
- receipt: a narrow paper strip of left/right aligned lines, tilted and sometimes curled;
- scene: signs and labels at any angle and size (tiny to huge), curved lines, low contrast, on a cluttered
  background of textures, shapes, lines and bar codes.

Words whose final height is under `MIN_TEXT_HEIGHT` px, that are blurred past reading, that barely differ from
their background, or that the image border cuts, get `ignore: true` (text "###" when cut).
`SceneRenderer(seed).sample(i)` is deterministic in (seed, i).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
from PIL import ImageFont
from shapely.geometry import Polygon, box as shapely_box
from shapely.geometry.polygon import orient

from ocrpipe.synth.fonts import FontInfo, group_families, load_fonts
from ocrpipe.synth.render import (TextImage, add_noise, adjust_lighting, apply_homography, background, bend,
                                  composite, densify, draw_text, homography, jpeg, luminance, random_colour,
                                  random_style, random_warp, smooth_noise, warp_masks)
from ocrpipe.synth.text import TextSampler, date_or_time, phone, price

MIN_TEXT_HEIGHT = 6.0  # px; smaller words are don't-care
MIN_CONTRAST = 0.12  # luminance difference below which a word is don't-care
IMAGE_SIDES = np.arange(640, 1025, 32)

Item = tuple[TextImage, float, float, str]  # a drawn word, the top-left of its masks in the block frame, its text


@dataclass
class Block:
    """Text in its own frame. `masks` uint8 (h, w, 3): glyph fill, fill+outline (+ table rules), paper/panel.
    `words` are (polygon, text) in the same frame; `text_height` is the typical ink height of a word."""

    masks: np.ndarray
    words: list[tuple[np.ndarray, str]]
    text_height: float


@dataclass
class Placed:
    """A word on the canvas: polygon, text, the contrast it was drawn with, and the height that decides whether
    it is readable: its own or that of its block's typical word, whichever is larger (so "ace" is as readable as
    "Bold" next to it)."""

    polygon: np.ndarray
    text: str
    contrast: float
    height: float


# ------------------------------------------------------------------------------------------------- layout

def line_items(font: ImageFont.FreeTypeFont, words: Sequence[str], pen_x: float, baseline: float,
               space: float, tracking: float = 0.0) -> tuple[list[Item], float]:
    """Draw words along one baseline; returns the items and the pen x after the last word."""
    items = []
    for i, word in enumerate(words):
        ti = draw_text(font, word, tracking)
        items.append((ti, pen_x - ti.origin[0], baseline - ti.origin[1], word))
        pen_x += ti.advance + (space if i < len(words) - 1 else 0)
    return items, pen_x


def wrap_words(font: ImageFont.FreeTypeFont, words: Sequence[str], width: float, space: float) -> list[list[str]]:
    """Greedy line breaking of `words` into lines no wider than `width` (a longer single word gets its own line)."""
    lines: list[list[str]] = [[]]
    x = 0.0
    for w in words:
        length = font.getlength(w)
        if lines[-1] and x + space + length > width:
            lines.append([])
            x = 0.0
        x += (space if lines[-1] else 0) + length
        lines[-1].append(w)
    return [line for line in lines if line]


def paragraph_items(font: ImageFont.FreeTypeFont, words: Sequence[str], left: float, top: float, width: float,
                    leading: float, align: str) -> tuple[list[Item], float]:
    """Set `words` as a paragraph (align: left, center, right or justify); returns items and the y below it."""
    space = font.getlength(" ") or font.size * 0.3
    lines = wrap_words(font, words, width, space)
    ascent = font.getmetrics()[0]
    items: list[Item] = []
    for k, line in enumerate(lines):
        natural = sum(font.getlength(w) for w in line) + space * (len(line) - 1)
        gap, x = space, left
        if align == "justify" and k < len(lines) - 1 and len(line) > 1:
            gap = space + (width - natural) / (len(line) - 1)
        elif align == "center":
            x = left + (width - natural) / 2
        elif align == "right":
            x = left + width - natural
        line_words, _ = line_items(font, line, x, top + ascent + k * leading, gap)
        items += line_words
    return items, top + len(lines) * leading


def assemble(items: Sequence[Item], rules: Sequence[tuple[float, float, float, float, int]] = (),
             frame: tuple[int, int] | None = None, margin: float = 0.0, radius: float = 0.0,
             panel: bool = False) -> Block:
    """Paste items (and straight rules x0, y0, x1, y1, thickness) into one block. With `frame` = (w, h) the block
    has exactly that size and items keep their coordinates (those outside are dropped); otherwise it is the
    content's bounding box plus `margin`. `panel` fills the block (corner `radius`) as paper/sign panel."""
    if frame is None:
        boxes = [(x, y, x + ti.masks.shape[1], y + ti.masks.shape[0]) for ti, x, y, _ in items]
        boxes += [(min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3])) for r in rules]
        x0, y0 = min(b[0] for b in boxes) - margin, min(b[1] for b in boxes) - margin
        w = int(np.ceil(max(b[2] for b in boxes) - x0 + margin))
        h = int(np.ceil(max(b[3] for b in boxes) - y0 + margin))
    else:
        (w, h), x0, y0 = frame, 0.0, 0.0
    masks = np.zeros((h, w, 3), np.uint8)
    words, heights = [], []
    for ti, x, y, text in items:
        ix, iy = int(round(x - x0)), int(round(y - y0))
        mh, mw = ti.masks.shape[:2]
        if ix < 0 or iy < 0 or ix + mw > w or iy + mh > h:
            continue
        region = masks[iy:iy + mh, ix:ix + mw, :2]
        np.maximum(region, ti.masks, out=region)
        words.append((ti.polygon + (ix, iy), text))
        heights.append(ti.polygon[:, 1].max() - ti.polygon[:, 1].min())
    for rx0, ry0, rx1, ry1, thickness in rules:
        pts = ((int(rx0 - x0), int(ry0 - y0)), (int(rx1 - x0), int(ry1 - y0)))
        for c in (0, 1):
            masks[..., c] = cv2.line(np.ascontiguousarray(masks[..., c]), *pts, 255, thickness)
    if panel:
        paper = np.zeros((h, w), np.uint8)
        r = int(min(radius, w / 2 - 1, h / 2 - 1))
        cv2.rectangle(paper, (r, 0), (w - 1 - r, h - 1), 255, -1)
        cv2.rectangle(paper, (0, r), (w - 1, h - 1 - r), 255, -1)
        for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
            cv2.circle(paper, (cx, cy), r, 255, -1)
        masks[..., 2] = paper
    return Block(masks, words, float(np.median(heights)) if heights else 0.0)


# ------------------------------------------------------------------------------------------------- content

class FontBox:
    """Picks fonts (family first, then file) and adapts text to the chosen font's glyph coverage."""

    MONO_HINTS = ("mono", "courier", "ocr", "typewriter", "code", "hack", "inconsolata", "anonymous")

    def __init__(self, fonts: Sequence[FontInfo]):
        self.families = list(group_families(fonts).values())
        self.mono = [f for f in fonts if any(h in f"{f.family} {f.path}".lower() for h in self.MONO_HINTS)]

    def pick(self, rng: np.random.Generator, mono: bool = False) -> FontInfo:
        if mono and self.mono:
            return self.mono[int(rng.integers(len(self.mono)))]
        family = self.families[int(rng.integers(len(self.families)))]
        return family[int(rng.integers(len(family)))]

    @staticmethod
    def fit(info: FontInfo, words: Sequence[str]) -> list[str]:
        """Words with the font's missing characters removed (empty ones dropped), upper-cased for caps fonts."""
        out = ["".join(c for c in w if c not in info.missing) for w in words]
        return [w.upper() if info.caps_only else w for w in out if w]


def document_block(rng: np.random.Generator, sampler: TextSampler, fonts: FontBox, width: int, height: int,
                   size: int) -> Block:
    """A page of `width`×`height` with body text of `size` px: heading, paragraphs in columns, sometimes a table."""
    body_info = fonts.pick(rng)
    body = body_info.load(size)
    margin = rng.uniform(0.04, 0.1) * width
    items: list[Item] = []
    rules: list[tuple[float, float, float, float, int]] = []
    y = margin
    if rng.random() < 0.7:
        head_info = fonts.pick(rng)
        head = head_info.load(int(size * rng.uniform(1.5, 3.0)))
        words = fonts.fit(head_info, sampler.line(rng, int(rng.integers(1, 6))))
        align = str(rng.choice(["left", "center"]))
        new, y = paragraph_items(head, words, margin, y, width - 2 * margin, head.size * 1.2, align)
        items += new
        y += size
    if rng.random() < 0.3:
        new, new_rules, y = table_items(rng, sampler, fonts, body_info, body, margin, y, width - 2 * margin)
        items += new
        rules += new_rules
        y += size
    columns = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    gutter = 0.04 * width
    col_w = (width - 2 * margin - gutter * (columns - 1)) / columns
    leading = size * rng.uniform(1.15, 1.6)
    align = str(rng.choice(["left", "justify", "center"], p=[0.6, 0.3, 0.1]))
    for c in range(columns):
        cy = y
        x = margin + c * (col_w + gutter)
        while cy + leading < height - margin:
            words = fonts.fit(body_info, sampler.line(rng, int(rng.integers(8, 60)), prose=True))
            new, cy = paragraph_items(body, words, x, cy, col_w, leading, align)
            items += [it for it in new if it[2] + it[0].masks.shape[0] < height - margin]
            cy += leading * rng.uniform(0.3, 1.0)
    return assemble(items, rules, frame=(width, height), panel=True)


def table_items(rng: np.random.Generator, sampler: TextSampler, fonts: FontBox, info: FontInfo,
                font: ImageFont.FreeTypeFont, left: float, top: float, width: float
                ) -> tuple[list[Item], list[tuple[float, float, float, float, int]], float]:
    """A ruled table of words, numbers and prices; returns items, rules and the y below the table."""
    n_rows, n_cols = int(rng.integers(3, 10)), int(rng.integers(2, 6))
    col_w = width / n_cols
    row_h = font.size * rng.uniform(1.5, 2.2)
    pad = font.size * 0.4
    ascent = font.getmetrics()[0]
    makers = [lambda r: sampler.dictionary_word(r), sampler.word]
    items: list[Item] = []
    for r in range(n_rows):
        for c in range(n_cols):
            cell = makers[int(rng.integers(2))](rng)
            text = fonts.fit(info, [cell[:max(1, int(col_w / font.size * 1.5))]])
            if text:
                baseline = top + r * row_h + (row_h - font.size) / 2 + ascent * 0.9
                items += line_items(font, text, left + c * col_w + pad, baseline, 0)[0]
    bottom = top + n_rows * row_h
    thick = int(rng.integers(1, 3))
    rules = [(left, top + r * row_h, left + width, top + r * row_h, thick) for r in range(n_rows + 1)]
    if rng.random() < 0.6:  # full grid, else only horizontal rules
        rules += [(left + c * col_w, top, left + c * col_w, bottom, thick) for c in range(n_cols + 1)]
    return items, rules, bottom


def receipt_block(rng: np.random.Generator, sampler: TextSampler, fonts: FontBox) -> Block:
    """A till receipt: centred header, item lines with right-aligned prices, totals, dashed rules."""
    info = fonts.pick(rng, mono=rng.random() < 0.7)
    font = info.load(int(rng.integers(12, 22)))
    width = font.size * rng.uniform(16, 26)
    margin = font.size * rng.uniform(1, 2)
    leading = font.size * rng.uniform(1.2, 1.6)
    ascent = font.getmetrics()[0]
    space = font.getlength(" ") or font.size * 0.3
    items: list[Item] = []
    rules: list[tuple[float, float, float, float, int]] = []
    y = margin

    def centred(words: list[str]) -> None:
        nonlocal y
        words = fonts.fit(info, words)
        if words:
            natural = sum(font.getlength(w) for w in words) + space * (len(words) - 1)
            items.extend(line_items(font, words, margin + max(0.0, (width - natural) / 2), y + ascent, space)[0])
        y += leading

    def left_right(left_words: list[str], right: str) -> None:
        nonlocal y
        items.extend(line_items(font, fonts.fit(info, left_words), margin, y + ascent, space)[0])
        right_words = fonts.fit(info, [right])
        if right_words:
            x = margin + width - font.getlength(right_words[0])
            items.extend(line_items(font, right_words, x, y + ascent, space)[0])
        y += leading

    def rule() -> None:
        nonlocal y
        rules.append((margin, y + leading / 2, margin + width, y + leading / 2, 1))
        y += leading

    centred([w.upper() for w in sampler.line(rng, int(rng.integers(1, 3)))])
    centred(sampler.line(rng, int(rng.integers(2, 5))))
    centred([phone(rng)])
    centred([date_or_time(rng), date_or_time(rng)])
    rule()
    for _ in range(int(rng.integers(3, 14))):
        name = [w.upper() for w in sampler.line(rng, int(rng.integers(1, 4)))]
        if rng.random() < 0.3:
            name = [f"{rng.integers(1, 9)}x"] + name
        left_right(name, price(rng))
    rule()
    for label in ["SUBTOTAL", "TAX", "TOTAL"][int(rng.integers(0, 3)):]:
        left_right([label], price(rng))
    if rng.random() < 0.7:
        centred(sampler.line(rng, int(rng.integers(2, 5))))
    return assemble(items, rules, frame=(int(width + 2 * margin), int(y + margin)), panel=True)


def sign_block(rng: np.random.Generator, sampler: TextSampler, fonts: FontBox, size: int) -> Block:
    """1–3 centred lines of 1–4 words, on a panel (half the time) with a margin."""
    info = fonts.pick(rng)
    font = info.load(size)
    n_lines = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    tracking = rng.uniform(0.05, 0.5) if rng.random() < 0.15 else 0.0
    space = (font.getlength(" ") or size * 0.3) * rng.uniform(1.0, 2.0)
    leading = size * rng.uniform(1.0, 1.4)
    ascent = font.getmetrics()[0]
    lines = [fonts.fit(info, sampler.line(rng, int(rng.choice([1, 2, 3, 4], p=[0.45, 0.3, 0.15, 0.1]))))
             for _ in range(n_lines)]
    widths = [line_items(font, line, 0, 0, space, tracking)[1] for line in lines]  # cheap at sign sizes
    items: list[Item] = []
    for k, (line, w) in enumerate(zip(lines, widths)):
        items += line_items(font, line, (max(widths) - w) / 2, ascent + k * leading, space, tracking)[0]
    if not items:
        items = line_items(font, [sampler.dictionary_word(rng)], 0, ascent, space)[0]
    panel = rng.random() < 0.5
    return assemble(items, margin=size * rng.uniform(0.2, 0.8) if panel else 2, radius=size * rng.uniform(0, 0.5),
                    panel=panel)


def bend_block(block: Block, amount: float, wave: bool) -> Block:
    """`bend` a block's masks and word polygons (polygons get 8 points per edge)."""
    polys = [densify(p, 8) if len(p) == 4 else p for p, _ in block.words]
    masks, moved = bend(block.masks, polys, amount, wave)
    return Block(masks, [(p, t) for p, (_, t) in zip(moved, block.words)], block.text_height)


# ------------------------------------------------------------------------------------------------- canvas

def clutter(rng: np.random.Generator, canvas: np.ndarray, count: int) -> None:
    """Non-text distractors in place: filled shapes, lines, bar codes, textured patches, and the repetitive
    structures that a detector trained on text alone fires on in photos: window and tile grids, railings."""
    h, w = canvas.shape[:2]
    for _ in range(count):
        colour = tuple(float(c) for c in random_colour(rng))
        kind = int(rng.integers(7))
        if kind >= 5:
            (window_grid if kind == 5 else railing)(rng, canvas, colour)
            continue
        x, y = int(rng.integers(w)), int(rng.integers(h))
        s = int(rng.integers(10, max(11, min(h, w) // 3)))
        if kind == 0:
            cv2.rectangle(canvas, (x, y), (x + s, y + int(s * rng.uniform(0.3, 2))), colour, -1)
        elif kind == 1:
            cv2.circle(canvas, (x, y), s // 2, colour, -1 if rng.random() < 0.6 else int(rng.integers(1, 5)))
        elif kind == 2:
            pts = np.stack([rng.integers(0, w, 3), rng.integers(0, h, 3)], axis=1).astype(np.int32)
            cv2.polylines(canvas, [pts], False, colour, int(rng.integers(1, 6)))
        elif kind == 3:  # bar code: text-like but not text
            bar_h = int(s * rng.uniform(0.3, 0.8))
            bx = x
            for width in rng.integers(1, 5, int(rng.integers(15, 40))):
                if rng.random() < 0.5:
                    cv2.rectangle(canvas, (bx, y), (bx + int(width) - 1, y + bar_h), colour, -1)
                bx += int(width)
        else:
            x1, y1 = min(w, x + s * 2), min(h, y + s)
            if x1 - x > 1 and y1 - y > 1:
                canvas[y:y1, x:x1] = background(rng, y1 - y, x1 - x)


def _quad_in(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random perspective quadrilateral (4 x 2, clockwise from top-left) of a region of an h x w canvas."""
    rw, rh = rng.uniform(0.15, 0.7) * w, rng.uniform(0.1, 0.6) * h
    x0, y0 = rng.uniform(-0.1 * w, w - 0.5 * rw), rng.uniform(-0.1 * h, h - 0.5 * rh)
    quad = np.array([[x0, y0], [x0 + rw, y0], [x0 + rw, y0 + rh], [x0, y0 + rh]], np.float32)
    return quad + rng.normal(0, 0.08, (4, 2)).astype(np.float32) * np.array([rw, rh], np.float32)


def window_grid(rng: np.random.Generator, canvas: np.ndarray, colour: tuple[float, ...]) -> None:
    """Rows x columns of small rectangles (building windows, tiles, shelves) seen in perspective."""
    h, w = canvas.shape[:2]
    rows, cols = int(rng.integers(2, 14)), int(rng.integers(2, 24))
    cell_w, cell_h = 40, int(40 * rng.uniform(0.3, 1.5))
    fill_w, fill_h = rng.uniform(0.4, 0.9), rng.uniform(0.3, 0.9)
    flat = np.zeros((rows * cell_h, cols * cell_w), np.float32)
    for r in range(rows):
        for c in range(cols):
            if rng.random() < 0.9:
                x, y = c * cell_w, r * cell_h
                flat[y:y + int(cell_h * fill_h), x:x + int(cell_w * fill_w)] = 1.0
    src = np.array([[0, 0], [flat.shape[1], 0], [flat.shape[1], flat.shape[0]], [0, flat.shape[0]]], np.float32)
    alpha = cv2.warpPerspective(flat, cv2.getPerspectiveTransform(src, _quad_in(rng, h, w)), (w, h))
    alpha *= rng.uniform(0.4, 1.0)
    canvas[:] = canvas * (1 - alpha[..., None]) + np.asarray(colour, np.float32) * alpha[..., None]


def railing(rng: np.random.Generator, canvas: np.ndarray, colour: tuple[float, ...]) -> None:
    """Evenly spaced parallel bars (railings, fences, blinds, hatching), any direction."""
    h, w = canvas.shape[:2]
    angle = rng.uniform(0, np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    length, gap = rng.uniform(0.1, 0.6) * max(h, w), rng.uniform(4, 30)
    start = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    thickness = int(rng.integers(1, max(2, int(gap * 0.6))))
    for i in range(int(rng.integers(4, 30))):
        a = start + i * gap * normal
        b = a + length * direction
        cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour, thickness)


def paper_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Light paper: white to cream or grey, faint blotches (float32 RGB)."""
    tint = rng.uniform(195, 255) - rng.uniform(0, 25, 3)
    tex = 1 - rng.uniform(0, 0.12) * smooth_noise(rng, h, w, int(rng.integers(2, 8)))[..., None]
    return (tint * tex).astype(np.float32)


def place_block(rng: np.random.Generator, canvas: np.ndarray, block: Block, matrix: np.ndarray,
                min_contrast: float | None = None, paper: float = 0.3) -> list[Placed]:
    """Warp `block` onto `canvas` (float32 RGB, in place) with `matrix`; paint its panel (paper with probability
    `paper`, else a coloured texture), then its text. Returns the words with canvas polygons."""
    h, w = canvas.shape[:2]
    bh, bw = block.masks.shape[:2]
    corners = apply_homography(matrix, np.array([[0, 0], [bw, 0], [bw, bh], [0, bh]], float))
    x0, y0 = np.floor(np.maximum(corners.min(axis=0), 0)).astype(int)
    x1, y1 = np.ceil(np.minimum(corners.max(axis=0), (w, h))).astype(int)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return []
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)
    masks = warp_masks(block.masks, shift @ matrix, (int(x1 - x0), int(y1 - y0)))
    region = canvas[y0:y1, x0:x1]
    panel = masks[..., 2:3]
    if panel.any():
        surface = (paper_texture if rng.random() < paper else background)(rng, *region.shape[:2])
        region *= 1 - panel
        region += surface * panel
    polygons = [apply_homography(matrix, p) for p, _ in block.words]
    text_h = float(np.median([polygon_height(p) for p in polygons])) if polygons else block.text_height
    ink = masks[..., 1] > 0.5
    ground = float(luminance(region[ink].mean(axis=0) if ink.any() else region.mean(axis=(0, 1))))
    style = random_style(rng, ground, text_h, min_contrast)
    composite(region, masks[..., :2], style)
    contrast = abs(float(luminance(style.fill)) - ground)
    return [Placed(p, t, contrast, max(polygon_height(p), text_h)) for p, (_, t) in zip(polygons, block.words)]


def polygon_height(polygon: np.ndarray) -> float:
    """Mean distance between the top and bottom edge of a text polygon (4 points or 2k points)."""
    k = len(polygon) // 2
    top, bottom = polygon[:k], polygon[k:][::-1]
    return float(np.linalg.norm(top - bottom, axis=1).mean())


def fit_matrix(rng: np.random.Generator, block: Block, canvas_size: tuple[int, int], max_angle: float,
               max_persp: float, scale: float = 1.0, free: np.ndarray | None = None, max_shear: float = 0.2
               ) -> np.ndarray | None:
    """A homography putting `block` (scaled by `scale`, shrunk further if needed) at a random position fully
    inside the canvas, rotated and with perspective; with `free` (a boolean occupancy grid), only where the
    block's footprint is free. None when no place was found."""
    w, h = canvas_size
    bh, bw = block.masks.shape[:2]
    src = np.array([[0, 0], [bw, 0], [bw, bh], [0, bh]], float)
    for _ in range(6):
        dst = random_warp(rng, src * scale, max_angle=max_angle, max_shear=max_shear, max_persp=max_persp)
        extent = dst.max(axis=0) - dst.min(axis=0)
        shrink = min(1.0, 0.95 * w / extent[0], 0.95 * h / extent[1])
        dst = (dst - dst.mean(axis=0)) * shrink
        lo, hi = -dst.min(axis=0), np.array([w, h]) - dst.max(axis=0)
        dst += rng.uniform(lo, np.maximum(lo, hi))
        if free is not None and not footprint_free(free, dst, canvas_size):
            continue
        return homography(src, dst)
    return None


def footprint_free(free: np.ndarray, quad: np.ndarray, canvas_size: tuple[int, int]) -> bool:
    """True when `quad` only covers free cells of the coarse occupancy grid; then marks them taken."""
    gh, gw = free.shape
    scale = np.array([gw / canvas_size[0], gh / canvas_size[1]])
    cells = np.zeros_like(free, np.uint8)
    cv2.fillConvexPoly(cells, np.round(quad * scale).astype(np.int32), 1)
    taken = cells.astype(bool)
    if (taken & ~free).any():
        return False
    free &= ~taken
    return True


# ------------------------------------------------------------------------------------------------- images

def document_image(rng: np.random.Generator, sampler: TextSampler, fonts: FontBox, w: int, h: int
                   ) -> tuple[np.ndarray, list[Placed]]:
    """A scanned page (fills the image, slight skew) or a photographed page (smaller, tilted, perspective)."""
    canvas = background(rng, h, w)
    if rng.random() < 0.5:  # scan
        block = document_block(rng, sampler, fonts, w, h, int(rng.integers(10, 24)))
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
        a = np.deg2rad(rng.normal(0, 1.0))
        centre = src.mean(axis=0)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        matrix = homography(src, (src - centre) @ rot.T * rng.uniform(1.0, 1.08) + centre)
    else:  # photo of a page: choose the body text height on the image, then the page size that gives it
        body_px = rng.uniform(4, 7) if rng.random() < 0.1 else rng.uniform(7, 18)
        size = int(rng.integers(10, 24))
        scale = body_px / size
        pw, ph = rng.uniform(0.6, 0.95) * w / scale, rng.uniform(0.6, 0.95) * h / scale
        block = document_block(rng, sampler, fonts, int(pw), int(ph), size)
        if rng.random() < 0.2:
            block = bend_block(block, rng.uniform(-0.04, 0.04) * block.masks.shape[0], wave=rng.random() < 0.5)
        matrix = fit_matrix(rng, block, (w, h), max_angle=12, max_persp=0.06, scale=scale, max_shear=0.05)
        if matrix is None:
            return canvas, []
    return canvas, place_block(rng, canvas, block, matrix, min_contrast=rng.uniform(0.4, 0.8), paper=0.9)


def receipt_image(rng: np.random.Generator, sampler: TextSampler, fonts: FontBox, w: int, h: int
                  ) -> tuple[np.ndarray, list[Placed]]:
    """One receipt on a textured surface, tilted, sometimes curled."""
    canvas = background(rng, h, w)
    clutter(rng, canvas, int(rng.integers(0, 4)))
    block = receipt_block(rng, sampler, fonts)
    if rng.random() < 0.3:
        block = bend_block(block, rng.uniform(-0.03, 0.03) * block.masks.shape[1], wave=rng.random() < 0.5)
    scale = min(1.0, h / block.masks.shape[0] * rng.uniform(0.8, 1.3))
    matrix = fit_matrix(rng, block, (w, h), max_angle=25, max_persp=0.05, scale=scale, max_shear=0.05)
    if matrix is None:
        return canvas, []
    return canvas, place_block(rng, canvas, block, matrix, min_contrast=rng.uniform(0.3, 0.8), paper=0.9)


def scene_image(rng: np.random.Generator, sampler: TextSampler, fonts: FontBox, w: int, h: int
                ) -> tuple[np.ndarray, list[Placed]]:
    """Signs and labels of all sizes and angles on a cluttered background."""
    canvas = background(rng, h, w)
    clutter(rng, canvas, int(rng.integers(2, 15)))
    free = np.ones((h // 8, w // 8), bool)
    placed: list[Placed] = []
    for _ in range(int(rng.integers(3, 16))):
        size = int(np.exp(rng.uniform(np.log(5), np.log(min(w, h) / 4))))
        block = sign_block(rng, sampler, fonts, size)
        if len(block.words) == 1 and rng.random() < 0.25 or rng.random() < 0.08:
            block = bend_block(block, rng.uniform(-0.5, 0.5) * size, wave=rng.random() < 0.3)
        max_angle = 90.0 if rng.random() < 0.15 else 20.0
        matrix = fit_matrix(rng, block, (w, h), max_angle, max_persp=0.15, free=free)
        if matrix is not None:
            faint = rng.uniform(0.04, MIN_CONTRAST) if rng.random() < 0.05 else None  # barely visible: don't-care
            placed += place_block(rng, canvas, block, matrix, min_contrast=faint)
    return canvas, placed


# ------------------------------------------------------------------------------------------------- finishing

def finish(rng: np.random.Generator, canvas: np.ndarray) -> tuple[np.ndarray, float]:
    """Lighting, blur, noise and JPEG for a whole image; returns uint8 RGB and the blur sigma applied (px)."""
    if rng.random() < 0.5:
        canvas = adjust_lighting(rng, canvas)
    sigma = 0.0
    if rng.random() < 0.3:
        sigma = float(rng.uniform(0.3, 1.6))
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    if rng.random() < 0.4:
        canvas = add_noise(rng, canvas, rng.uniform(2, 10))
    out = np.clip(canvas, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        out = jpeg(out, int(rng.integers(30, 95)))
    return out, sigma


def instances(placed: Sequence[Placed], size: tuple[int, int], blur_sigma: float) -> list[dict]:
    """Annotation dicts; don't-care for words that are tiny, blurred past reading, low-contrast, or cut by the
    image border (their polygon is clipped to the image, text "###")."""
    w, h = size
    frame = shapely_box(0, 0, w, h)
    out = []
    for p in placed:
        inside = bool((p.polygon >= 0).all() and (p.polygon[:, 0] <= w).all() and (p.polygon[:, 1] <= h).all())
        poly, text = p.polygon, p.text
        if not inside:
            clipped = Polygon(p.polygon).buffer(0).intersection(frame)
            if clipped.is_empty or clipped.area < 4:
                continue
            if clipped.geom_type != "Polygon":
                clipped = max(getattr(clipped, "geoms", []), key=lambda g: g.area, default=None)
                if clipped is None or clipped.geom_type != "Polygon":
                    continue
            poly, text = np.asarray(orient(clipped, sign=1.0).exterior.coords)[:-1], "###"
        ignore = not inside or p.height < MIN_TEXT_HEIGHT or p.height < 5 * blur_sigma or p.contrast < MIN_CONTRAST
        out.append({"polygon": [round(float(v), 1) for v in poly.reshape(-1)], "text": text, "ignore": ignore})
    return out


class SceneRenderer:
    """Deterministic detection samples: `sample(i)` → (uint8 RGB image, instances) depends only on (seed, i)."""

    def __init__(self, seed: int = 0, fonts: Sequence[FontInfo] | None = None, sampler: TextSampler | None = None,
                 split: str = "train", font_dir: str | None = None):
        self.seed = seed
        self.fonts = FontBox(list(fonts) if fonts is not None else load_fonts(split, font_dir))
        self.sampler = sampler if sampler is not None else TextSampler.from_system()

    def sample(self, index: int) -> tuple[np.ndarray, list[dict]]:
        rng = np.random.default_rng([self.seed, index])
        w, h = (int(v) for v in rng.choice(IMAGE_SIDES, 2))
        kind = rng.choice(3, p=[0.35, 0.15, 0.5])
        make = (document_image, receipt_image, scene_image)[kind]
        canvas, placed = make(rng, self.sampler, self.fonts, w, h)
        image, sigma = finish(rng, canvas)
        return image, instances(placed, (w, h), sigma)

    __getitem__ = sample
