"""Training data for DB: samples from ann/*.json folders or a renderer, word boxes from line boxes, augmentation.

Words, not lines (the cutting itself is in ``words.py``). The recognizer reads words (max 25 characters) and ``ocrpipe.layout`` builds lines from words, so
the detector is trained to find words everywhere. Data sets labelled by line (SROIE receipts) are turned into word
boxes: the line is rectified, its ink columns are profiled, and the widest blank runs become the cuts between the
words of its transcript, provided each cut lies near where the character counts put it. A line that cannot be cut
convincingly becomes a don't-care region (neither taught as text nor as background). ``text_unit="line"`` keeps
the boxes as annotated instead (a line detector, e.g. for a line recognizer).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np
import shapely
import torch
from shapely.geometry import Polygon, box

from ocrpipe.detectors.db.model import IMAGENET_MEAN, IMAGENET_STD, normalize
from ocrpipe.detectors.db.targets import make_targets
from ocrpipe.detectors.db.words import split_line
from ocrpipe.io import load_image
from ocrpipe.metrics.det import Annotation

# A renderer: sample index -> (RGB image, ann-format instances [{"polygon": [x1, y1, ...], "text", "ignore"}]).
Renderer = Callable[[int], tuple[np.ndarray, Sequence[dict]]]


@dataclass
class DetSample:
    image: np.ndarray  # RGB uint8 (H, W, 3)
    polygons: list[np.ndarray]  # (N_i, 2) float pixel coordinates
    ignore: list[bool]  # don't-care flags, one per polygon


@dataclass(frozen=True)
class AugmentConfig:
    crop_size: int = 640  # square training crops
    scale_range: tuple[float, float] = (0.5, 3.0)  # random rescale, drawn log-uniformly
    max_rotation: float = 10.0  # degrees, either way (no flips: mirrored text is not text)
    colour_jitter: float = 0.3  # strength of brightness / contrast / saturation changes
    text_focus: float = 0.9  # chance that a crop is centred near a text instance
    min_visible: float = 0.8  # a polygon cut by the crop keeps being text if this much of it stays visible


def sample_from_annotation(annotation: Annotation, text_unit: str = "word") -> DetSample:
    """Read an annotated image; multi-word instances become word boxes (``text_unit="word"``) or stay lines."""
    if text_unit not in ("word", "line"):
        raise ValueError(f"text_unit must be 'word' or 'line', got {text_unit!r}")
    image = load_image(annotation.image)
    polygons, ignore = [], []
    for instance in annotation.instances:
        polygon = np.asarray(instance.polygon, dtype=np.float64)
        if instance.ignore or text_unit == "line":
            pieces, ignored = [polygon], instance.ignore
        else:
            words = split_line(image, polygon, instance.text)
            pieces, ignored = (words, False) if words else ([polygon], True)
        polygons.extend(pieces)
        ignore.extend([ignored] * len(pieces))
    return DetSample(image, polygons, ignore)


def sample_from_renderer(renderer: Renderer, index: int) -> DetSample:
    image, instances = renderer(index)
    return DetSample(image=image,
                     polygons=[np.asarray(i["polygon"], dtype=np.float64).reshape(-1, 2) for i in instances],
                     ignore=[bool(i.get("ignore", False)) for i in instances])


# --- augmentation -------------------------------------------------------------------------------------------------

def _crop_transform(sample: DetSample, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """A 2x3 affine map: random scale and rotation, then a shift that puts a crop_size window over the result."""
    low, high = config.scale_range
    scale = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    angle = rng.uniform(-config.max_rotation, config.max_rotation)
    matrix = cv2.getRotationMatrix2D((0.0, 0.0), angle, scale)
    h, w = sample.image.shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], float) @ matrix.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    text = [p for p, ignored in zip(sample.polygons, sample.ignore) if not ignored]
    if text and rng.random() < config.text_focus:
        focus = text[rng.integers(len(text))].mean(axis=0)
    else:
        focus = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    focus = np.append(focus, 1.0) @ matrix.T
    size = config.crop_size
    origin = np.empty(2)
    for axis in range(2):
        if hi[axis] - lo[axis] <= size:  # the whole image fits: place it anywhere in the window
            origin[axis] = lo[axis] - rng.uniform(0, size - (hi[axis] - lo[axis]))
        else:  # a window around the focus point, inside the image
            origin[axis] = np.clip(focus[axis] - rng.uniform(0.1, 0.9) * size, lo[axis], hi[axis] - size)
    matrix[:, 2] -= origin
    return matrix


def _clip_polygons(polygons: Sequence[np.ndarray], ignore: Sequence[bool], size: int,
                   min_visible: float) -> tuple[list[np.ndarray], list[bool]]:
    """Cut polygons to the crop; a polygon mostly outside it becomes don't-care, one fully outside disappears."""
    window = box(0, 0, size, size)
    kept, flags = [], []
    for polygon, ignored in zip(polygons, ignore):
        shape = shapely.make_valid(Polygon(polygon))
        if shape.area < 1:
            continue
        visible = shape.intersection(window)
        if visible.is_empty or visible.area < 1:
            continue
        if visible.geom_type != "Polygon":  # cut in several pieces: keep the biggest
            visible = max((g for g in getattr(visible, "geoms", []) if g.geom_type == "Polygon"),
                          key=lambda g: g.area, default=None)
            if visible is None:
                continue
        kept.append(np.asarray(visible.exterior.coords)[:-1])
        flags.append(ignored or visible.area < min_visible * shape.area)
    return kept, flags


def _jitter_colours(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Random brightness, contrast and saturation; now and then grey or slightly blurred."""
    out = image.astype(np.float32)
    grey = out.mean(axis=2, keepdims=True)
    saturation = 0.0 if rng.random() < 0.1 else rng.uniform(1 - strength, 1 + strength)
    out = grey + (out - grey) * saturation
    out = (out - out.mean()) * rng.uniform(1 - strength, 1 + strength) + out.mean()
    out += rng.uniform(-strength, strength) * 80
    if rng.random() < 0.1:
        out = cv2.GaussianBlur(out, (3, 3), 0)
    return np.clip(out, 0, 255).astype(np.uint8)


def augment(sample: DetSample, rng: np.random.Generator, config: AugmentConfig,
            mean: tuple[float, float, float] = IMAGENET_MEAN) -> DetSample:
    """Random scale + rotation + crop (one warp), colour jitter; returns a crop_size x crop_size sample. Outside
    the image the crop is filled with ``mean`` (the model's normalization mean), the colour inference pads with."""
    matrix = _crop_transform(sample, rng, config)
    size = config.crop_size
    fill = tuple(round(255 * m) for m in mean)
    image = cv2.warpAffine(sample.image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    moved = [np.hstack([p, np.ones((len(p), 1))]) @ matrix.T for p in sample.polygons]
    polygons, ignore = _clip_polygons(moved, sample.ignore, size, config.min_visible)
    return DetSample(_jitter_colours(image, rng, config.colour_jitter), polygons, ignore)


# --- the stream of training examples ------------------------------------------------------------------------------

@dataclass
class TrainingStream(torch.utils.data.IterableDataset):
    """Endless augmented examples with their DB targets, as dicts of tensors (``image`` (3, S, S), ``gt``, ``mask``,
    ``thresh``, ``thresh_mask`` (1, S, S)). Each DataLoader worker draws its own random stream."""

    annotations: list[Annotation]
    renderer: Renderer | None = None
    renderer_fraction: float = 0.5  # share of examples drawn from the renderer when there are both sources
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    text_unit: str = "word"
    seed: int = 0
    mean: tuple[float, float, float] = IMAGENET_MEAN  # the model's input normalization
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        super().__init__()
        if not self.annotations and self.renderer is None:
            raise ValueError("no training data: give annotation folders or a renderer")
        self._word_boxes: dict[int, tuple[list[np.ndarray], list[bool]]] = {}

    def _draw(self, rng: np.random.Generator, counter: int) -> DetSample:
        use_renderer = self.renderer is not None and (not self.annotations or rng.random() < self.renderer_fraction)
        if use_renderer:
            return sample_from_renderer(self.renderer, counter)
        index = int(rng.integers(len(self.annotations)))
        if index not in self._word_boxes:  # splitting lines into words is done once per image
            sample = sample_from_annotation(self.annotations[index], self.text_unit)
            self._word_boxes[index] = (sample.polygons, sample.ignore)
            return sample
        return DetSample(load_image(self.annotations[index].image), *self._word_boxes[index])

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        rng = np.random.default_rng([self.seed, worker])
        counter = worker
        while True:
            sample = augment(self._draw(rng, self.seed * 1_000_000 + counter), rng, self.augment, self.mean)
            counter += workers
            size = self.augment.crop_size
            targets = make_targets(sample.polygons, sample.ignore, size, size)
            example = {"image": normalize(sample.image, self.mean, self.std)}
            for name in ("gt", "mask", "thresh", "thresh_mask"):
                example[name] = torch.from_numpy(getattr(targets, name))[None]
            yield example
