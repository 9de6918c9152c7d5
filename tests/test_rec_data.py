"""Recognition training data: per-set draw weights of the real crops."""
from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image

from ocrpipe.recognizer.data import MixedCropStream, Sample, set_size_weights


def test_set_size_weights_shares():
    sizes = [100, 400]
    for power, expected in [(1.0, 0.2), (0.5, 1 / 3), (0.0, 0.5)]:
        w = set_size_weights(sizes, power)
        totals = [n * wi for n, wi in zip(sizes, w)]
        assert totals[0] / sum(totals) == pytest.approx(expected)


def test_weighted_stream_draws_sets_in_proportion(tmp_path: Path):
    Image.new("RGB", (40, 16), "white").save(tmp_path / "a.png")
    small = [Sample(tmp_path / "a.png", "small") for _ in range(10)]
    big = [Sample(tmp_path / "a.png", "big") for _ in range(90)]
    weights = [w for samples, w in zip([small, big], set_size_weights([10, 90], 0.0)) for _ in samples]
    stream = MixedCropStream(small + big, lambda im: torch.zeros(1), "abcdefghijklmnopqrstuvwxyz", 25,
                             weights=weights, seed=1)
    counts = Counter(label for _, label, _ in itertools.islice(iter(stream), 2000))
    assert counts["small"] / 2000 == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError):
        MixedCropStream(small, lambda im: torch.zeros(1), "abc", 25, weights=[1.0])
