"""Draw a word and turn it into a photo-like crop for the recognizer.

The pipeline for one crop, each step a small function that takes the numpy Generator it draws from:

    draw_text      font + text → ink masks (fill, fill+outline) and the outline polygon of the text
    curve_text     optional arc/wave bend (masks and polygon move together)
    random_warp    rotation, shear and perspective as one homography
    crop size      tight (ink touches the edge) to loose (lots of background), set by the margins
    background     flat, gradient, blotchy noise, stripes, a sign panel with visible edge
    composite      shadow / 3-D extrusion, outline colour, fill colour
    degrade        lighting, blur, motion blur, low resolution, sensor noise, JPEG

`render_word` is the pure function; `WordRenderer(seed).sample(i)` picks text, font and all parameters from a
generator seeded by (seed, i), so any process, DataLoader worker or machine that asks for sample i gets the same
pixels. The detection generator (`scene.py`) reuses `draw_text`, `curve_text`, `composite` and the colour helpers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocrpipe.synth.fonts import FontInfo, group_families, load_fonts
from ocrpipe.synth.text import TextSampler


@dataclass
class TextImage:
    """Ink masks of one word plus the polygon around its ink, in mask pixel coordinates.

    `masks` is uint8 (h, w, 2): channel 0 the glyph fill, channel 1 fill plus outline (equal without outline).
    `polygon` is (n, 2) float, clockwise from the top-left corner: 4 points, or 2k when the text is curved
    (k along the top edge left→right, then k along the bottom right→left). `origin` is where the pen started on
    the baseline and `advance` how far it moved, so the next word's pen starts at origin x + advance (+ a space).
    """

    masks: np.ndarray
    polygon: np.ndarray
    origin: tuple[float, float] = (0.0, 0.0)
    advance: float = 0.0


# ---------------------------------------------------------------------------------------------------- drawing

def draw_text(font: ImageFont.FreeTypeFont, text: str, tracking: float = 0.0, outline: int = 0) -> TextImage:
    """Render `text` (one line) as ink masks; `tracking` is extra space between letters in multiples of the font
    size (0 keeps the font's own kerning), `outline` the outline width in pixels."""
    if tracking == 0:
        pieces = [(0.0, text)]
        pen_end = font.getlength(text)
    else:
        pieces, x = [], 0.0
        for ch in text:
            pieces.append((x, ch))
            x += font.getlength(ch) + tracking * font.size
        pen_end = x
    boxes = [font.getbbox(s, anchor="ls", stroke_width=outline) for _, s in pieces]
    left = min(x + b[0] for (x, _), b in zip(pieces, boxes))
    right = max(x + b[2] for (x, _), b in zip(pieces, boxes))
    top = min(b[1] for b in boxes)
    bottom = max(b[3] for b in boxes)
    pad = 2 + outline
    w, h = int(np.ceil(right - left)) + 2 * pad, int(bottom - top) + 2 * pad
    origin = (pad - left, pad - top)  # where the pen starts on the baseline

    layers = []
    for stroke in ([0, outline] if outline else [0]):
        im = Image.new("L", (w, h))
        draw = ImageDraw.Draw(im)
        for x, s in pieces:
            draw.text((origin[0] + x, origin[1]), s, font=font, fill=255, anchor="ls",
                      stroke_width=stroke, stroke_fill=255)
        layers.append(np.asarray(im))
    if not outline:
        layers.append(layers[0])
    masks = np.stack(layers, axis=-1)
    return TextImage(masks, ink_box_polygon(masks[..., 1]), (float(origin[0]), float(origin[1])), float(pen_end))


def ink_box_polygon(mask: np.ndarray) -> np.ndarray:
    """The 4 corners (clockwise from top-left) of the box around the non-zero pixels of `mask`."""
    rows = np.flatnonzero(mask.max(axis=1))
    cols = np.flatnonzero(mask.max(axis=0))
    if rows.size == 0:
        h, w = mask.shape
        x0, y0, x1, y1 = 0.0, 0.0, float(w), float(h)
    else:
        x0, y0, x1, y1 = float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def densify(box: np.ndarray, points: int) -> np.ndarray:
    """A 4-point box as 2×`points` points: `points` along the top edge, then `points` back along the bottom."""
    t = np.linspace(0, 1, points)[:, None]
    top = box[0] + (box[1] - box[0]) * t
    bottom = box[2] + (box[3] - box[2]) * t
    return np.concatenate([top, bottom])


def bend(masks: np.ndarray, polygons: Sequence[np.ndarray], amount: float, wave: bool = False
         ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Bend masks and the polygons on them vertically across the mask width: an arc (`wave` False; amount > 0
    sags in the middle, < 0 bulges up) or one sine period, moving pixels by up to `amount` pixels. The masks grow
    by |amount| at top and bottom so no ink is lost; polygons are moved along (densify 4-point boxes first)."""
    h, w = masks.shape[:2]

    def shift(x: np.ndarray) -> np.ndarray:
        t = x / max(w - 1, 1) * 2 - 1  # -1 at the left edge, +1 at the right
        return amount * (np.sin(np.pi * t) if wave else 1 - t ** 2)

    extra = int(np.ceil(abs(amount))) + 1
    padded = cv2.copyMakeBorder(masks, extra, extra, 0, 0, cv2.BORDER_CONSTANT, value=0)
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h + 2 * extra, dtype=np.float32)
    # Output pixel (y, x) reads the input at (y - shift(x), x): ink moves down by shift(x).
    map_x = np.broadcast_to(xs, (ys.size, w)).astype(np.float32)
    map_y = (ys[:, None] - shift(xs)[None, :]).astype(np.float32)
    bent = cv2.remap(padded, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    bent = bent.reshape(bent.shape[:2] + masks.shape[2:])
    moved = [p + np.stack([np.zeros(len(p)), extra + shift(p[:, 0])], axis=1) for p in polygons]
    return bent, moved


def curve_text(ti: TextImage, amount: float, wave: bool = False, points: int = 8) -> TextImage:
    """`bend` one word by `amount` × its height; its polygon gets `points` points per edge."""
    y0, y1 = ti.polygon[0][1], ti.polygon[2][1]
    masks, (polygon,) = bend(ti.masks, [densify(ti.polygon, points)], amount * (y1 - y0), wave)
    grown = (masks.shape[0] - ti.masks.shape[0]) / 2  # rows added above the text
    return TextImage(masks, polygon, (ti.origin[0], ti.origin[1] + grown), ti.advance)


# ---------------------------------------------------------------------------------------------------- geometry

def random_warp(rng: np.random.Generator, box: np.ndarray, max_angle: float = 8.0, max_shear: float = 0.25,
                max_persp: float = 0.12) -> np.ndarray:
    """Destination corners for the 4-point text `box`: rotated (degrees, mostly small), sheared (italic-like) and
    with corners jittered by up to `max_persp` × text height (perspective). Returns (4, 2)."""
    w = box[1, 0] - box[0, 0]
    h = box[2, 1] - box[1, 1]
    pts = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64) - [w / 2, h / 2]
    pts[:, 0] -= pts[:, 1] * np.clip(rng.normal(0, max_shear / 2), -max_shear, max_shear)
    pts += rng.uniform(-max_persp, max_persp, (4, 2)) * h
    a = np.deg2rad(np.clip(rng.normal(0, max_angle / 2.5), -max_angle, max_angle))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + box.mean(axis=0)


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3×3 projective transform taking the 4 `src` points to the 4 `dst` points."""
    return cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)


def apply_homography(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Transform (n, 2) points."""
    p = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ matrix.T
    return p[:, :2] / p[:, 2:3]


def warp_masks(masks: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp (h, w, c) uint8 masks into an output of `size` = (width, height); returns float32 in [0, 1]."""
    out = cv2.warpPerspective(masks, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if out.ndim == 2:
        out = out[..., None]
    return out.astype(np.float32) * (1 / 255)


# ---------------------------------------------------------------------------------------------------- colour

def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance in [0, 1] of RGB values in [0, 255] (last axis)."""
    return np.asarray(rgb, dtype=np.float64) @ np.array([0.299, 0.587, 0.114]) / 255


def random_colour(rng: np.random.Generator) -> np.ndarray:
    """An RGB colour in [0, 255]; greys and muted colours are as likely as vivid ones."""
    hsv = np.array([[[rng.uniform(0, 180), 255 * rng.beta(0.7, 1.2), rng.uniform(0, 255)]]], dtype=np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def contrasting_colour(rng: np.random.Generator, background_luma: float, min_contrast: float) -> np.ndarray:
    """A colour whose luminance differs from `background_luma` by at least `min_contrast` (dark text on light
    ground or light on dark, whichever fits; falls back to black or white)."""
    colour = random_colour(rng)
    go_dark = background_luma > 0.5 if rng.random() < 0.9 else background_luma - min_contrast > 0.02
    target = background_luma - min_contrast if go_dark else background_luma + min_contrast
    target = float(np.clip(target - rng.uniform(0, 0.4) if go_dark else target + rng.uniform(0, 0.4), 0, 1))
    luma = float(luminance(colour))
    if go_dark and luma > target:
        colour = colour * (target / max(luma, 1e-3))
    elif not go_dark and luma < target:
        t = (target - luma) / max(1 - luma, 1e-3)  # blend towards white
        colour = colour + (255 - colour) * t
    return np.clip(colour, 0, 255).astype(np.float32)


# ---------------------------------------------------------------------------------------------------- backgrounds

def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Blotchy noise in [0, 1] of shape (h, w): random values on a coarse grid, upsampled smoothly."""
    gh = max(2, int(round(cells * h / max(h, w))) + 1)
    gw = max(2, int(round(cells * w / max(h, w))) + 1)
    grid = rng.random((gh, gw)).astype(np.float32)
    return np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A float32 (h, w, 3) RGB background in [0, 255]: flat, gradient, blotchy texture, fine grain or stripes."""
    c1 = random_colour(rng)
    c2 = np.clip(c1 + rng.normal(0, 60, 3), 0, 255) if rng.random() < 0.7 else random_colour(rng)
    kind = rng.choice(5, p=[0.3, 0.2, 0.25, 0.15, 0.1])
    if kind == 0:
        t = np.zeros((h, w), np.float32)
    elif kind == 1:  # linear gradient in a random direction
        a = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * np.cos(a) + yy * np.sin(a)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    elif kind == 2:  # blotches (stone, paint, shade), one or two scales
        t = smooth_noise(rng, h, w, int(rng.integers(2, 10)))
        if rng.random() < 0.5:
            t = 0.6 * t + 0.4 * smooth_noise(rng, h, w, int(rng.integers(10, 40)))
    elif kind == 3:  # paper/wall grain
        t = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), rng.uniform(0.5, 2.0))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-3) * rng.uniform(0.2, 0.6)
    else:  # stripes or grid lines (tiles, fabric, bricks)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, np.pi)
        period = rng.uniform(4, max(6.0, 0.5 * max(h, w)))
        t = 0.5 + 0.5 * np.sin((xx * np.cos(a) + yy * np.sin(a)) * 2 * np.pi / period)
        if rng.random() < 0.5:
            t = (t > rng.uniform(0.3, 0.9)).astype(np.float32)
    return c1 * (1 - t[..., None]) + c2 * t[..., None]


def add_panel(rng: np.random.Generator, image: np.ndarray, rect: tuple[int, int, int, int]) -> None:
    """Paint a sign/label panel (optionally rounded, optionally with a border line) over `rect` = x0, y0, x1, y1
    of the float32 RGB `image`, in place, so that the panel's edge shows."""
    h, w = image.shape[:2]
    panel = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = rect
    radius = int(rng.uniform(0, 0.4) * max(1, min(x1 - x0, y1 - y0)))
    cv2.rectangle(panel, (x0 + radius, y0), (x1 - radius, y1), 255, -1)
    cv2.rectangle(panel, (x0, y0 + radius), (x1, y1 - radius), 255, -1)
    for cx, cy in ((x0 + radius, y0 + radius), (x1 - radius, y0 + radius), (x0 + radius, y1 - radius),
                   (x1 - radius, y1 - radius)):
        cv2.circle(panel, (cx, cy), radius, 255, -1)
    alpha = cv2.GaussianBlur(panel, (0, 0), 0.7).astype(np.float32)[..., None] / 255
    image[:] = image * (1 - alpha) + random_colour(rng) * alpha
    if rng.random() < 0.4:
        edge = cv2.morphologyEx(panel, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(np.float32) / 255
        image[:] = image * (1 - edge[..., None]) + random_colour(rng) * edge[..., None]


# ---------------------------------------------------------------------------------------------------- compositing

@dataclass(frozen=True)
class Style:
    """How a word is painted: fill and outline colours, opacity, and an optional shadow or 3-D extrusion."""

    fill: np.ndarray
    outline: np.ndarray
    opacity: float = 1.0
    shadow: np.ndarray | None = None  # colour
    shadow_offset: tuple[float, float] = (0.0, 0.0)  # pixels
    shadow_blur: float = 0.0  # sigma in pixels; 0 with extrude > 0 gives a solid 3-D extrusion
    extrude: int = 0  # number of stacked copies along shadow_offset


def random_style(rng: np.random.Generator, background_luma: float, text_height: float,
                 min_contrast: float | None = None) -> Style:
    """Colours that read against a background of luminance `background_luma`, with occasional outline colour,
    drop shadow or extrusion scaled to `text_height`."""
    if min_contrast is None:
        min_contrast = rng.uniform(0.12, 0.25) if rng.random() < 0.1 else rng.uniform(0.3, 0.6)
    fill = contrasting_colour(rng, background_luma, min_contrast)
    outline = contrasting_colour(rng, float(luminance(fill)), 0.4) if rng.random() < 0.5 else fill
    shadow, offset, blur, extrude = None, (0.0, 0.0), 0.0, 0
    r = rng.random()
    if r < 0.15:  # soft drop shadow
        shadow = np.zeros(3, np.float32) + rng.uniform(0, 60)
        d = rng.uniform(0.03, 0.12) * text_height
        a = rng.uniform(0, 2 * np.pi)
        offset, blur = (d * np.cos(a), d * np.sin(a)), rng.uniform(0, 0.08) * text_height
    elif r < 0.2:  # 3-D extrusion
        shadow = contrasting_colour(rng, float(luminance(fill)), 0.35)
        d = rng.uniform(0.03, 0.07) * text_height
        a = rng.uniform(0.2, 1.4) + (np.pi if rng.random() < 0.3 else 0)
        extrude = max(2, int(d))
        offset = (d * np.cos(a), d * np.sin(a))
    return Style(fill, outline, float(rng.uniform(0.75, 1.0)) if rng.random() < 0.2 else 1.0,
                 shadow, offset, blur, extrude)


def composite(canvas: np.ndarray, masks: np.ndarray, style: Style) -> None:
    """Paint warped masks (h, w, 2 float in [0, 1], from `warp_masks`) onto the float32 RGB `canvas` in place."""
    fill, full = masks[..., 0:1], masks[..., 1:2]
    if style.shadow is not None:
        dx, dy = style.shadow_offset
        if style.extrude:
            shade = np.zeros_like(full)
            for k in range(1, style.extrude + 1):
                m = np.float32([[1, 0, dx * k / style.extrude], [0, 1, dy * k / style.extrude]])
                shade = np.maximum(shade, cv2.warpAffine(full, m, full.shape[1::-1])[..., None])
        else:
            m = np.float32([[1, 0, dx], [0, 1, dy]])
            shade = cv2.warpAffine(full, m, full.shape[1::-1])
            if style.shadow_blur > 0.3:
                shade = cv2.GaussianBlur(shade, (0, 0), style.shadow_blur)
            shade = shade[..., None] * 0.8
        canvas *= 1 - shade
        canvas += shade * style.shadow
    a = full * style.opacity
    canvas *= 1 - a
    canvas += a * style.outline
    if not np.array_equal(style.outline, style.fill):
        a = fill * style.opacity
        canvas *= 1 - a
        canvas += a * style.fill


# ---------------------------------------------------------------------------------------------------- degradation

def adjust_lighting(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Random contrast and brightness, sometimes a smooth shading across the image (float32 RGB in and out)."""
    image = (image - 128) * rng.uniform(0.6, 1.2) + 128 + rng.normal(0, 20)
    if rng.random() < 0.4:
        h, w = image.shape[:2]
        image = image * (1 - rng.uniform(0.2, 0.6) * smooth_noise(rng, h, w, 2)[..., None])
    return image


def motion_blur(image: np.ndarray, length: int, angle: float) -> np.ndarray:
    """Blur along a line of `length` pixels at `angle` degrees."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    return cv2.filter2D(image, -1, kernel / max(float(kernel.sum()), 1e-6))


def add_noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian sensor noise, grey (luminance) or per channel (colour)."""
    h, w = image.shape[:2]
    return image + rng.normal(0, sigma, (h, w, 1 if rng.random() < 0.5 else 3)).astype(np.float32)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip a uint8 RGB image through JPEG at `quality` (block and ringing artefacts)."""
    _, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def low_resolution(image: np.ndarray, scale: float, nearest: bool = False) -> np.ndarray:
    """Shrink by `scale` and enlarge back (blurry, or blocky with `nearest`), like an upsampled small crop."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def degrade(rng: np.random.Generator, image: np.ndarray, text_height: float) -> np.ndarray:
    """Camera and compression defects on a float32 RGB crop; returns uint8. Strengths are bounded by
    `text_height` so that the text stays readable (a label on an unreadable crop only teaches guessing)."""
    if rng.random() < 0.5:
        image = adjust_lighting(rng, image)
    if rng.random() < 0.35:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.0) * max(0.6, text_height / 30))
    elif rng.random() < 0.1:
        image = motion_blur(image, int(rng.integers(3, max(4, int(text_height / 8)) + 1)), rng.uniform(0, 180))
    if rng.random() < 0.4:
        image = add_noise(rng, image, rng.uniform(2, 12))
    out = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.2 and text_height > 14:
        out = low_resolution(out, rng.uniform(max(10 / text_height, 0.25), 0.7), nearest=rng.random() < 0.2)
    if rng.random() < 0.4:
        out = jpeg(out, int(rng.integers(15 if text_height > 24 else 35, 90)))
    return out


# ---------------------------------------------------------------------------------------------------- word crops

def crop_margins(rng: np.random.Generator, text_height: float) -> np.ndarray:
    """Left, top, right, bottom margins in pixels: tight (40%), normal (45%) or loose (15%) crops."""
    r = rng.random()
    if r < 0.4:
        m = rng.uniform(0.0, 0.08, 4)
    elif r < 0.85:
        m = rng.uniform(0.04, 0.3, 4)
    else:
        m = rng.uniform(0.15, 0.7, 4)
    return m * text_height


def neighbour_matrix(ti: TextImage, other: TextImage, side: int, gap: float) -> np.ndarray:
    """Translation placing `other` next to `ti` in `ti`'s mask coordinates: side 0 above, 1 right, 2 below,
    3 left, `gap` pixels between the ink boxes."""
    (x0, y0), (x1, y1) = ti.polygon.min(axis=0), ti.polygon.max(axis=0)
    (u0, v0), (u1, v1) = other.polygon.min(axis=0), other.polygon.max(axis=0)
    if side in (0, 2):
        tx = x0 + (x1 - x0 - (u1 - u0)) * 0.5 - u0
        ty = (y0 - gap - v1) if side == 0 else (y1 + gap - v0)
    else:
        ty = ti.origin[1] - other.origin[1]
        tx = (x1 + gap - u0) if side == 1 else (x0 - gap - u1)
    return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)


def render_word(rng: np.random.Generator | None, text: str, font: ImageFont.FreeTypeFont, augment: bool = True,
                neighbour: str = "") -> tuple[np.ndarray, str]:
    """A crop of `text` drawn with `font` (its size sets the text height): uint8 RGB (h, w, 3) and the label.

    `neighbour`, when given, is drawn as an adjacent word or line that only shows where the crop's margin reaches
    it (as in crops cut from photos). With `augment` False (`rng` unused): black text on white, no warp, a
    2-pixel margin.
    """
    if not augment:
        ti = draw_text(font, text)
        canvas = np.full(ti.masks.shape[:2] + (3,), 255, np.float32)
        black = np.zeros(3, np.float32)
        composite(canvas, ti.masks.astype(np.float32) / 255, Style(black, black))
        return canvas.astype(np.uint8), text

    tracking = rng.uniform(0.05, 0.6) if rng.random() < 0.12 else 0.0
    outline = int(rng.integers(1, max(2, font.size // 12) + 1)) if rng.random() < 0.12 else 0
    ti = draw_text(font, text, tracking, outline)
    if rng.random() < 0.1 and len(text) > 2:
        ti = curve_text(ti, rng.uniform(-0.35, 0.35), wave=rng.random() < 0.3)
    box = ink_box_polygon(ti.masks[..., 1])
    text_h = box[2, 1] - box[0, 1]

    dst = random_warp(rng, box)
    shape = apply_homography(homography(box, dst), ti.polygon)
    left, top, right, bottom = crop_margins(rng, text_h)
    x0, y0 = shape.min(axis=0) - (left, top)
    x1, y1 = shape.max(axis=0) + (right, bottom)
    size = (int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0)))
    matrix = homography(box, dst - (x0, y0))
    masks = warp_masks(ti.masks, matrix, size)
    if neighbour:
        other = draw_text(font, neighbour, tracking, outline)
        side = int(rng.integers(4))
        gap = text_h * (rng.uniform(0.25, 0.6) if side in (0, 2) else rng.uniform(0.3, 0.8))
        masks = np.maximum(masks, warp_masks(other.masks, matrix @ neighbour_matrix(ti, other, side, gap), size))

    canvas = background(rng, size[1], size[0])
    if rng.random() < 0.15:  # the text sits on a panel whose edge is in view
        px0, py0 = (shape.min(axis=0) - (x0, y0) - rng.uniform(0.05, 0.5, 2) * text_h).astype(int)
        px1, py1 = (shape.max(axis=0) - (x0, y0) + rng.uniform(0.05, 0.5, 2) * text_h).astype(int)
        add_panel(rng, canvas, (px0, py0, px1, py1))
    text_area = masks[..., 1] > 0.5
    ground = canvas[text_area].mean(axis=0) if text_area.any() else canvas.mean(axis=(0, 1))
    composite(canvas, masks, random_style(rng, float(luminance(ground)), text_h))
    return degrade(rng, canvas, text_h), text


def sample_font_size(rng: np.random.Generator) -> int:
    """Font size in pixels: mostly 18–56 (crops about that tall, as in scene-text sets), some tiny ones."""
    if rng.random() < 0.1:
        return int(rng.integers(10, 18))
    return int(np.clip(np.exp(rng.normal(np.log(32), 0.35)), 16, 72))


def fit_text_to_font(rng: np.random.Generator, sampler: TextSampler, font: FontInfo, tries: int = 5) -> str:
    """Draw text until it avoids the font's missing punctuation (else drop those characters); upper-case it for
    caps-only fonts."""
    for _ in range(tries):
        text = sampler.word(rng)
        if not set(text) & set(font.missing):
            break
    text = "".join(c for c in text if c not in font.missing) or sampler.dictionary_word(rng)
    return text.upper() if font.caps_only else text


class WordRenderer:
    """Deterministic source of (image, label) recognizer samples: `sample(i)` depends only on (seed, i).

    Superfamilies are drawn uniformly (one with 20 weights is not 20× more likely), then a font file of it.
    Safe to pickle into DataLoader workers; `renderer[i]` works too, so it can back a map-style Dataset.
    """

    def __init__(self, seed: int = 0, fonts: Sequence[FontInfo] | None = None, sampler: TextSampler | None = None,
                 split: str = "train", font_dir: str | None = None):
        self.seed = seed
        fonts = list(fonts) if fonts is not None else load_fonts(split, font_dir)
        self.families = list(group_families(fonts).values())
        self.sampler = sampler if sampler is not None else TextSampler.from_system()

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, index])

    def pick_font(self, rng: np.random.Generator) -> FontInfo:
        family = self.families[int(rng.integers(len(self.families)))]
        return family[int(rng.integers(len(family)))]

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        """Sample `index`: uint8 RGB crop and its label."""
        rng = self.rng(index)
        info = self.pick_font(rng)
        text = fit_text_to_font(rng, self.sampler, info)
        neighbour = fit_text_to_font(rng, self.sampler, info) if rng.random() < 0.15 else ""
        return render_word(rng, text, info.load(sample_font_size(rng)), neighbour=neighbour)

    __getitem__ = sample
