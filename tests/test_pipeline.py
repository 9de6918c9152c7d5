"""The pipeline's story with stand-in models: which crops are read again, and which reading is kept."""
import numpy as np

from ocrpipe.pipeline import Pipeline, PipelineOptions
from ocrpipe.types import ModelInfo, Recognition, Region


class BoxDetector:
    """Finds the same quads on every image (all in one text line when ``line`` is given)."""

    def __init__(self, quads, line=None):
        self.quads = quads
        self.line = line

    def detect(self, images):
        return [[Region(polygon=q, score=1.0, line=self.line) for q in self.quads] for _ in images]


class InkRecognizer:
    """Reads a crop as 'ink' with a confidence that grows with its height (a grown box reads better); a crop
    turned 180 degrees (light on the left of the test image's dark-to-light ramp) reads worse."""

    def __init__(self):
        self.calls = []

    def read(self, crops, batch_size):
        self.calls.append([c.shape[:2] for c in crops])
        results = []
        for crop in crops:
            upright = crop[0, 0, 0] < crop[-1, -1, 0]
            confidence = min(0.99, crop.shape[0] / 40) * (1.0 if upright else 0.5)
            results.append(Recognition("ink" if upright else "ʞuı", confidence, [confidence] * 3))
        return results


def pipeline(recognizer, **options):
    info = ModelInfo(name="stand-in", sha256="-")
    quads = [[(10, 10), (110, 10), (110, 30), (10, 30)],  # 20 px high: confidence 0.5
             [(10, 50), (170, 50), (170, 90), (10, 90)]]  # 40 px high: confidence 0.99
    return Pipeline(BoxDetector(quads), recognizer, info, info, PipelineOptions(**options))


def ramp_image():
    ramp = np.tile(np.linspace(0, 255, 200).astype(np.uint8), (120, 1))
    return np.stack([ramp] * 3, axis=-1)


def test_doubtful_crops_are_read_again_from_a_grown_box_and_the_better_reading_is_kept():
    recognizer = InkRecognizer()
    page = pipeline(recognizer, reread_below=0.8, reread_margin=0.25, min_conf=0).run(ramp_image())
    assert [w.text for w in page.words] == ["ink", "ink"]
    first, second = sorted(page.words, key=lambda w: w.polygon[0][1])
    assert first.confidence == 30 / 40  # read from the box grown by 5 px above and below
    assert first.polygon == [(10, 10), (110, 10), (110, 30), (10, 30)]  # the output keeps the detected box
    assert second.confidence == 0.99
    # first pass: both crops; the 180-degree retry of the doubtful one (0.5 < 0.5 is false: none); the grown box
    assert recognizer.calls == [[(20, 100), (40, 160)], [(30, 110)]]


def test_rereading_can_be_switched_off():
    recognizer = InkRecognizer()
    page = pipeline(recognizer, reread_below=0, min_conf=0).run(ramp_image())
    assert sorted(w.confidence for w in page.words) == [0.5, 0.99]
    assert len(recognizer.calls) == 1


def test_words_keep_the_text_line_their_region_was_found_in():
    info = ModelInfo(name="stand-in", sha256="-")
    detector = BoxDetector([[(10, 50), (170, 50), (170, 90), (10, 90)]], line=3)
    page = Pipeline(detector, InkRecognizer(), info, info, PipelineOptions(min_conf=0)).run(ramp_image())
    assert [w.line for w in page.words] == [3]
