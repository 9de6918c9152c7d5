"""Recognition data: labelled crop sets (`labels.tsv`), the fixed validation hold-out, label filtering, and the
mixed real + synthetic training stream."""
from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from ocrpipe.splits import keep_crop
from ocrpipe.recognizer.clip4str.charset import CharsetAdapter, normalize_label

VALIDATION_PERCENT = 10
MIN_SIDE = 4  # pixels


@dataclass(frozen=True)
class Sample:
    path: Path
    text: str
    caseless: bool = False  # the label's case says nothing about the print (e.g. SROIE's upper-cased transcripts)


def read_labels(directory: str | Path, split: str = "all", caseless: bool = False) -> list[Sample]:
    """Samples of `DIR/labels.tsv` (`relative_path<TAB>text`); split is "all", "train" or "val": a fixed 10% of
    every set is held out by source photo, never by crop (`ocrpipe.splits.crop_side`: whole images of cut-out sets,
    every tenth block of 25 neighbouring crops of numbered sets such as IIIT5K / IC15 / SVT, whose 5 neighbours on
    each side are left out of "train"); `caseless` marks every sample's label as case-free."""
    directory = Path(directory)
    samples = []
    with open(directory / "labels.tsv", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or "\t" not in line:
                continue
            relative, text = line.split("\t", 1)
            if not keep_crop(relative, split, VALIDATION_PERCENT):
                continue
            samples.append(Sample(directory / relative, text, caseless))
    return samples


def training_label(text: str, charset: str, max_length: int) -> str | None:
    """The reference's training filter: no whitespace, NFKD->ASCII, <= max_length, charset only, non-empty."""
    text = normalize_label(text)
    if len(text) > max_length:
        return None
    text = CharsetAdapter(charset)(text)
    return text or None


def load_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def set_size_weights(sizes: list[int], power: float) -> list[float]:
    """Per-sample draw weights that give each of the sets (of these sizes) a share of the real draws proportional to
    size ** power: 1 = every crop equally likely (big sets dominate), 0.5 = by the square root of the size, 0 = every
    set equally often."""
    return [n ** power / n if n else 0.0 for n in sizes]


class MixedCropStream(IterableDataset):
    """An endless stream of (image tensor, label, caseless): real crops (augmented) and on-the-fly synthetic words.

    Real crops are drawn uniformly, or in proportion to `weights` (one per sample of `real`) when given.
    Each worker draws from its own RNG seeded by (seed, worker id), so two runs with the same seed see the same data.
    """

    def __init__(self, real: list[Sample], to_tensor: Callable[[Image.Image], torch.Tensor], charset: str,
                 max_length: int, synth_fraction: float = 0.0,
                 synth_sample: Callable[[int], tuple[np.ndarray, str]] | None = None,
                 augment: Callable[[Image.Image], Image.Image] | None = None, seed: int = 0,
                 weights: list[float] | None = None):
        if weights is not None and len(weights) != len(real):
            raise ValueError(f"{len(weights)} weights for {len(real)} samples")
        usable = [i for i, s in enumerate(real) if training_label(s.text, charset, max_length)]
        self.real = [real[i] for i in usable]
        self.cumulative = list(itertools.accumulate(weights[i] for i in usable)) if weights is not None else None
        self.to_tensor = to_tensor
        self.charset = charset
        self.max_length = max_length
        self.synth_fraction = synth_fraction if synth_sample is not None else 0.0
        self.synth_sample = synth_sample
        self.augment = augment
        self.seed = seed

    def __iter__(self) -> Iterator[tuple[torch.Tensor, str, bool]]:
        worker = get_worker_info()
        worker_id = worker.id if worker else 0
        rng = random.Random(self.seed * 1000 + worker_id)
        synth_index = worker_id
        stride = worker.num_workers if worker else 1
        while True:
            if self.synth_sample is not None and (not self.real or rng.random() < self.synth_fraction):
                array, text = self.synth_sample(self.seed * 10_000_000 + synth_index)
                synth_index += stride
                image = Image.fromarray(array)
                caseless = False
            else:
                sample = self.real[self._draw_index(rng)]
                image = load_rgb(sample.path)
                text, caseless = sample.text, sample.caseless
                if min(image.size) < MIN_SIDE:  # degenerate crop: nothing to read, and augmentations fail on it
                    continue
                if self.augment is not None:
                    image = self.augment(image)
            label = training_label(text, self.charset, self.max_length)
            if label:
                yield self.to_tensor(image), label, caseless


    def _draw_index(self, rng: random.Random) -> int:
        if self.cumulative is None:
            return rng.randrange(len(self.real))
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return min(index, len(self.real) - 1)


def collate(batch: list[tuple[torch.Tensor, str, bool]]) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """Stacked images, labels, and a bool tensor of which labels are case-free."""
    images, labels, caseless = zip(*batch)
    return torch.stack(images), list(labels), torch.tensor(caseless, dtype=torch.bool)

