"""A visual check: the image with each word's polygon and text drawn on it."""
from __future__ import annotations

import os

import cv2
import numpy as np

from ocrpipe.atomic import atomic_write_bytes
from ocrpipe.types import Page


def draw_page(image: np.ndarray, page: Page, path: str | os.PathLike) -> None:
    """Write `image` (RGB uint8) with the page's word polygons (green) and texts (red) as a PNG at `path`."""
    canvas = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    scale = max(0.4, min(image.shape[:2]) / 1500)
    thickness = max(1, round(scale * 2))
    for word in page.words:
        points = np.round(np.array(word.polygon)).astype(np.int32)
        cv2.polylines(canvas, [points], isClosed=True, color=(0, 200, 0), thickness=thickness)
        x, y = points[0]
        cv2.putText(canvas, word.text.encode("ascii", "replace").decode(), (int(x), max(12, int(y) - 3)),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 255), thickness, cv2.LINE_AA)
    ok, encoded = cv2.imencode(".png", canvas)
    if not ok:
        raise OSError(f"cannot encode {path} as PNG")
    atomic_write_bytes(path, encoded.tobytes())
