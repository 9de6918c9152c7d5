"""Detection and end-to-end metrics on ``DIR/ann/<stem>.json`` data sets.

* Detection: precision / recall / F at IoU >= 0.5, one-to-one (greedy by IoU). Don't-care ground truth ("###",
  ``ignore: true``) is not to be found, and a prediction lying mostly inside one (intersection / its own area > 0.5)
  is dropped instead of counting as a false positive.
* End-to-end: the same, but a pair also needs equal text (case-insensitive, outer punctuation stripped).
* Bag of words: geometry-free, per page: the multiset overlap of predicted words with ground-truth words (each GT
  instance's text split on whitespace, so line-level sets like SROIE work too), same text normalization.

Counts are kept per image (:class:`Counts`) and summed over a data set (micro-average).
"""
from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import shapely
from PIL import Image
from shapely.geometry import Polygon
from shapely.strtree import STRtree

from ocrpipe.splits import keep
from ocrpipe.types import Point, Region, Word


@dataclass
class Instance:
    polygon: list[Point]
    text: str
    ignore: bool


@dataclass
class Annotation:
    image: Path  # absolute path of the image
    width: int
    height: int
    instances: list[Instance]


def load_annotation(path: str | Path) -> Annotation:
    """One ``ann/<stem>.json`` file; the image path is resolved against the data set folder (ann/..)."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    instances = [Instance(polygon=[(float(x), float(y)) for x, y in zip(i["polygon"][0::2], i["polygon"][1::2])],
                          text=i.get("text", ""), ignore=bool(i.get("ignore", False)))
                 for i in data["instances"]]
    image = (path.parent.parent / data["image"]).resolve()
    width, height = data.get("width"), data.get("height")
    if width is None or height is None:  # some sets leave the size out (null): read it from the image's header
        with Image.open(image) as opened:
            width, height = opened.size
    return Annotation(image=image, width=int(width), height=int(height), instances=instances)


VALIDATION_PERCENT = 33  # full-image sets are small: a third of each is held out from detector training


def load_annotations(directory: str | Path, split: str = "all") -> dict[str, Annotation]:
    """Annotations of a data set folder (holding ``ann/``) or of an ``ann`` folder itself, keyed by stem.

    ``split`` "train" / "val" picks the fixed two thirds / third of the set (by a hash of the stem)."""
    directory = Path(directory)
    ann_dir = directory / "ann" if (directory / "ann").is_dir() else directory
    every_file = sorted(ann_dir.glob("*.json"))
    files = [f for f in every_file if keep(f.stem, split, VALIDATION_PERCENT)]
    if not every_file:
        raise FileNotFoundError(f"{directory}: no ann/*.json annotation files")
    return {f.stem: load_annotation(f) for f in files}


@dataclass
class Counts:
    """Matched pairs, predictions and ground truths counted for a metric; add them up over images."""

    matched: int = 0
    predicted: int = 0
    expected: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.matched + other.matched, self.predicted + other.predicted, self.expected + other.expected)

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "matched": self.matched, "predicted": self.predicted, "expected": self.expected}


def normalize_word(text: str) -> str:
    """Case-folded, surrounding whitespace and punctuation (Unicode category P*) stripped: "(Hello!" -> "hello"."""
    text = text.strip().casefold()
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(text[end - 1]).startswith("P"):
        end -= 1
    return text[start:end]


def _shape(polygon: Sequence[Point]) -> Polygon:
    """A valid shapely polygon (self-intersecting annotations are repaired, keeping all their area)."""
    shape = Polygon(polygon) if len(polygon) >= 3 else Polygon()
    return shape if shape.is_valid else shapely.make_valid(shape)


def _drop_dont_care(predictions: list[Polygon], ignored: list[Polygon], overlap: float) -> list[int]:
    """Indices of the predictions that do not lie mostly (> overlap of their area) inside a don't-care region."""
    dont_care = shapely.union_all(ignored) if ignored else Polygon()  # overlapping regions count once
    kept = []
    for index, prediction in enumerate(predictions):
        area = prediction.area
        inside = prediction.intersection(dont_care).area if area > 0 else 0.0
        if area <= 0 or inside / area <= overlap:
            kept.append(index)
    return kept


def _greedy_match(predictions: list[Polygon], truths: list[Polygon], iou_threshold: float,
                  allowed: np.ndarray | None = None) -> int:
    """Number of one-to-one pairs with IoU >= threshold, taken greedily from the highest IoU down.

    ``allowed[i, j]`` (optional) further restricts which prediction i may pair with truth j (e.g. same text).
    """
    if not predictions or not truths:
        return 0
    tree = STRtree(truths)
    pred_idx, truth_idx = tree.query(predictions, predicate="intersects")
    pairs = []
    for i, j in zip(pred_idx, truth_idx):
        if allowed is not None and not allowed[i, j]:
            continue
        inter = predictions[i].intersection(truths[j]).area
        union = predictions[i].area + truths[j].area - inter
        if union > 0 and inter / union >= iou_threshold:
            pairs.append((inter / union, int(i), int(j)))
    used_p, used_t = set(), set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    return len(used_p)


def det_counts(predictions: Sequence[Sequence[Point]], annotation: Annotation, iou_threshold: float = 0.5,
               dont_care_overlap: float = 0.5) -> Counts:
    """Detection counts of one image: predicted polygons against its annotation."""
    shapes = [_shape(p) for p in predictions]
    ignored = [_shape(i.polygon) for i in annotation.instances if i.ignore]
    kept = _drop_dont_care(shapes, ignored, dont_care_overlap)
    truths = [_shape(i.polygon) for i in annotation.instances if not i.ignore]
    matched = _greedy_match([shapes[k] for k in kept], truths, iou_threshold)
    return Counts(matched, len(kept), len(truths))


def e2e_counts(predictions: Sequence[tuple[Sequence[Point], str]], annotation: Annotation,
               iou_threshold: float = 0.5, dont_care_overlap: float = 0.5) -> Counts:
    """End-to-end counts of one image: (polygon, text) predictions; a match needs IoU and equal normalized text.

    Text that normalizes to nothing (pure punctuation) takes no part: such predictions are not counted and such
    ground truths are don't-care regions.
    """
    predictions = [(p, normalize_word(t)) for p, t in predictions]
    predictions = [(p, t) for p, t in predictions if t]
    truths = [(i.polygon, normalize_word(i.text)) for i in annotation.instances if not i.ignore]
    ignored = [_shape(i.polygon) for i in annotation.instances if i.ignore] + [_shape(p) for p, t in truths if not t]
    truths = [(p, t) for p, t in truths if t]
    shapes = [_shape(p) for p, _ in predictions]
    kept = _drop_dont_care(shapes, ignored, dont_care_overlap)
    same_text = np.array([[predictions[k][1] == t for _, t in truths] for k in kept], bool)
    matched = _greedy_match([shapes[k] for k in kept], [_shape(p) for p, _ in truths], iou_threshold,
                            same_text.reshape(len(kept), len(truths)))
    return Counts(matched, len(kept), len(truths))


def bag_of_words_counts(predicted_words: Sequence[str], annotation: Annotation) -> Counts:
    """Page-level multiset overlap of predicted words with the annotation's (non-ignored) words."""
    def bag(texts: Sequence[str]) -> Counter:
        return Counter(w for t in texts for w in (normalize_word(part) for part in t.split()) if w)
    predicted = bag(predicted_words)
    expected = bag([i.text for i in annotation.instances if not i.ignore])
    return Counts(sum((predicted & expected).values()), sum(predicted.values()), sum(expected.values()))


def evaluate_detection(predictions: Mapping[str, Sequence[Region]],
                       annotations: Mapping[str, Annotation]) -> Counts:
    """Detection counts summed over a data set; an image without predictions counts as finding nothing."""
    return sum((det_counts([r.polygon for r in predictions.get(stem, [])], ann)
                for stem, ann in annotations.items()), Counts())


def evaluate_end_to_end(predictions: Mapping[str, Sequence[Word]],
                        annotations: Mapping[str, Annotation]) -> dict[str, Counts]:
    """``{"det", "e2e", "bag_of_words"}`` counts summed over a data set, from the words read on each image."""
    totals = {"det": Counts(), "e2e": Counts(), "bag_of_words": Counts()}
    for stem, ann in annotations.items():
        words = predictions.get(stem, [])
        totals["det"] += det_counts([w.polygon for w in words], ann)
        totals["e2e"] += e2e_counts([(w.polygon, w.text) for w in words], ann)
        totals["bag_of_words"] += bag_of_words_counts([w.text for w in words], ann)
    return totals
