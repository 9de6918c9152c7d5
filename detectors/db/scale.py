"""How large the detector looks at each image: a cheap first look measures the text, a second look (only when the
text is small) enlarges the image so that its text comes out at the height the network reads best.

A fixed input size cannot serve photos and documents at once: a 1280x720 street photo has words 15-60 px tall and
is read best at about its own size, while a receipt scanned at 8-px print needs two times enlarging, which on a photo
costs four times the pixels for nothing. So the detector first runs at ``probe_ratio`` (smaller than the image), takes
the heights of the regions it found, and picks the resize ratio that brings the ``quantile`` of those heights to
``target_height`` pixels; if that ratio is not clearly above the probe's, the probe's regions are the answer.

The defaults were chosen on development data (docs/DETECTOR.md, "Text-height scale"): per image, detection at seven
fixed ratios, and the policy simulated over them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import cv2
import numpy as np

from ocrpipe.types import Point


@dataclass(frozen=True)
class TextScale:
    """The settings of the two-look scale choice (stored in a detector's weights file, meta ``text_scale``)."""

    probe_ratio: float = 0.75  # resize ratio of the first look (capped by the weights' own largest ratio)
    target_height: float = 28.0  # text height, in network pixels, that the second look aims at
    quantile: float = 0.25  # which of the first look's region heights is brought to target_height
    min_regions: int = 3  # with fewer regions the first look stands (too little text to measure)
    margin: float = 1.15  # a second look only when its ratio exceeds the probe's by this factor

    def to_dict(self) -> dict:
        return asdict(self)


def region_height(polygon: Sequence[Point] | np.ndarray) -> float:
    """Height of a text region: the short side of its minimum-area rectangle, in the polygon's pixels."""
    (_, _), (width, height), _ = cv2.minAreaRect(np.asarray(polygon, dtype=np.float32))
    return float(min(width, height))


def second_look_ratio(heights: Sequence[float], probe_ratio: float, max_ratio: float,
                      policy: TextScale) -> float | None:
    """The resize ratio for a second look at an image, or None when the first look (at ``probe_ratio``) stands.

    ``heights``: the first look's region heights in the ORIGINAL image's pixels; ``max_ratio``: the largest ratio
    the detector allows for this image (its side limit and enlarging limit).
    """
    if len(heights) < policy.min_regions:
        return None
    wanted = min(policy.target_height / max(float(np.quantile(heights, policy.quantile)), 1.0), max_ratio)
    return wanted if wanted > probe_ratio * policy.margin else None
