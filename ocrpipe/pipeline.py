"""`Pipeline`: the Python API. Images in, `Page` trees out.

    pipeline = Pipeline.from_pretrained(device="cpu")
    page = pipeline.run("photo.jpg")
    for path, result in pipeline.run_many(paths):   # result: list[Page] (one per page of the file) or InputError
        ...

The story of one group of images (`_process`): detect -> rectify every region -> recognise the crops of ALL images
in one batched call -> words -> layout -> pages. Models are loaded once; `run_many` streams files through in
groups so recognition batches span images, and hands the memory a group freed back to the system after it
(`ocrpipe.heap`), so memory stays flat over any number of files.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ocrpipe import heap, io
from ocrpipe.errors import InputError
from ocrpipe.geometry import rectify, rotate180, turn_180
from ocrpipe.layout import build_page_blocks, page_skew
from ocrpipe.models import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER, load_detector, load_recognizer, pick_device
from ocrpipe.types import ModelInfo, Page, Recognition, Word


@dataclass(frozen=True)
class PipelineOptions:
    batch_size: int = 64  # crops per recognizer batch
    images_per_group: int = 8  # images whose crops are recognised together in run_many
    min_conf: float = 0.5  # words read with lower confidence are dropped (`--min-conf`; chosen on development data)
    flip_below: float = 0.5  # crops read below this confidence are also read turned 180 degrees; 0 disables
    reread_below: float = 0.8  # ... and cut again from a box grown by reread_margin of its height; 0 disables
    reread_margin: float = 0.1  # both chosen on development data (docs/DETECTOR.md)
    max_pixels: int = io.DEFAULT_MAX_PIXELS
    pdf_dpi: float | None = None  # render PDF pages at this resolution (None: chosen from each page's size)


class Pipeline:
    def __init__(self, detector, recognizer, detector_info: ModelInfo, recognizer_info: ModelInfo,
                 options: PipelineOptions = PipelineOptions()):
        self.detector = detector
        self.recognizer = recognizer
        self.detector_info = detector_info
        self.recognizer_info = recognizer_info
        self.options = options

    @classmethod
    def from_pretrained(cls, det_model: str = DEFAULT_DETECTOR, rec_model: str = DEFAULT_RECOGNIZER,
                        device: str = "auto", postprocess=None, trust_checkpoint: bool = False,
                        rec_options: dict | None = None, det_side: int | None = None, det_precision: str = "auto",
                        **options) -> "Pipeline":
        """Load the detector and recognizer by registry name or path. `postprocess`: a
        `ocrpipe.detectors.db.postprocess.PostprocessParams`, or a dict of its fields to change from the detector's own
        settings; `det_side` the detector's input long side (default: its
        weights'); `det_precision` "auto" or "fp32" (`DBDetector`); `rec_options` go to `Recognizer` (decode,
        refine_iters, precision)."""
        device = pick_device(device)
        det_kwargs = {"precision": det_precision}
        if postprocess is not None:
            det_kwargs["params"] = postprocess
        if det_side is not None:
            det_kwargs["limit_side"] = det_side
        detector, detector_info = load_detector(det_model, device, **det_kwargs)
        recognizer, recognizer_info = load_recognizer(rec_model, device, trust=trust_checkpoint,
                                                      **(rec_options or {}))
        return cls(detector, recognizer, detector_info, recognizer_info, PipelineOptions(**options))

    # --- public API -----------------------------------------------------------------------------------------
    def run(self, image: np.ndarray | str | os.PathLike) -> Page:
        """One image (RGB uint8 array or a file path; first page of a multi-page file) -> Page."""
        if isinstance(image, np.ndarray):
            page = self._process([io.PageImage(image)], [""], [0])[0]
        else:
            started = time.perf_counter()
            pages = io.iter_page_images(image, self.options.max_pixels, self.options.pdf_dpi)
            try:
                first = next(pages)
            finally:
                pages.close()
            decode_ms = (time.perf_counter() - started) * 1000
            page = self._process([first], [str(image)], [0])[0]
            page.timings_ms["decode"] = decode_ms
        heap.release_freed_memory()
        return page

    def run_many(self, paths: Iterable[str | os.PathLike]) -> Iterator[tuple[str, list[Page] | InputError]]:
        """Stream files through; yields (path, pages) or (path, InputError) per file, in input order.

        Pages are decoded one at a time and processed in groups of `images_per_group` (recognition batches span
        the pages of a group, whichever files they come from), so a long PDF never sits in memory whole."""
        files: list[_FileResult] = []  # in input order; finished ones leave from the front
        group: list[tuple[_FileResult, int, io.PageImage]] = []  # (file, page number in it, image)
        for path in paths:
            entry = _FileResult(str(path))
            files.append(entry)
            started = time.perf_counter()
            try:
                for page_image in io.iter_page_images(path, self.options.max_pixels, self.options.pdf_dpi):
                    entry.decode_ms += (time.perf_counter() - started) * 1000
                    group.append((entry, entry.expected, page_image))
                    entry.expected += 1
                    if len(group) >= self.options.images_per_group:
                        self._process_group(group)
                        group = []
                        yield from _finished(files)
                    started = time.perf_counter()
            except InputError as error:
                entry.error = error
            entry.decoded = True
            yield from _finished(files)
        self._process_group(group)
        yield from _finished(files)

    # --- the story ------------------------------------------------------------------------------------------
    def _process_group(self, group: list[tuple["_FileResult", int, io.PageImage]]) -> None:
        pages = self._process([image for _, _, image in group], [entry.path for entry, _, _ in group],
                              [index for _, index, _ in group])
        for (entry, _, _), page in zip(group, pages):
            entry.pages.append(page)
        heap.release_freed_memory()

    def _process(self, page_images: Sequence[io.PageImage], sources: Sequence[str], page_indices: Sequence[int]
                 ) -> list[Page]:
        if not page_images:
            return []
        images = [page_image.pixels for page_image in page_images]
        started = time.perf_counter()
        regions = self.detector.detect(images)
        detect_ms = (time.perf_counter() - started) * 1000 / len(images)

        started = time.perf_counter()
        owners, kept, angles, crops = [], [], [], []
        for index, (image, image_regions) in enumerate(zip(images, regions)):
            for region in image_regions:
                crop, angle = rectify(image, region.polygon)
                if crop.size == 0:
                    continue
                owners.append(index)
                kept.append(region)
                angles.append(angle)
                crops.append(crop)
        margin = self.options.reread_margin
        readings = self._read(crops, lambda i: rectify(images[owners[i]], kept[i].polygon, margin=margin)[0])
        recognize_ms = (time.perf_counter() - started) * 1000

        words: list[list[Word]] = [[] for _ in images]
        for owner, region, angle, reading in zip(owners, kept, angles, readings):
            polygon = region.polygon
            if reading.flipped:
                polygon, angle = turn_180(polygon, angle)
            text = reading.recognition.text
            if text and reading.recognition.confidence >= self.options.min_conf:
                words[owner].append(Word(text=text, confidence=reading.recognition.confidence,
                                         polygon=[(float(x), float(y)) for x, y in polygon],
                                         char_confidences=reading.recognition.char_confidences, angle=angle,
                                         line=region.line))
        pages = []
        total_crops = max(1, len(crops))
        for index, image in enumerate(images):
            started = time.perf_counter()
            blocks = build_page_blocks(words[index])
            layout_ms = (time.perf_counter() - started) * 1000
            share = sum(1 for o in owners if o == index) / total_crops
            pages.append(Page(width=image.shape[1], height=image.shape[0], blocks=blocks, source=sources[index],
                              page_index=page_indices[index], skew=page_skew(words[index]),
                              dpi=page_images[index].dpi,
                              detector=self.detector_info,
                              recognizer=self.recognizer_info,
                              timings_ms={"detect": detect_ms, "recognize": recognize_ms * share,
                                          "layout": layout_ms}))
        return pages

    def _read(self, crops: list[np.ndarray], recut: Callable[[int], np.ndarray]) -> list["_Reading"]:
        """Recognise all crops, giving doubtful readings second chances and keeping the most confident reading.

        A crop read below ``flip_below`` is read again turned 180 degrees; one still below ``reread_below`` is cut
        again from a slightly larger box (``recut(index)``, a tight box often clips a letter) and read in the better
        orientation so far.
        """
        readings = [_Reading(r, False) for r in self.recognizer.read(crops, self.options.batch_size)]
        self._read_again(readings, self.options.flip_below, lambda i: (rotate180(crops[i]), True))

        def grown(index: int) -> tuple[np.ndarray, bool]:
            crop, flipped = recut(index), readings[index].flipped
            return (rotate180(crop) if flipped else crop), flipped
        self._read_again(readings, self.options.reread_below, grown)
        return readings

    def _read_again(self, readings: list["_Reading"], below: float,
                    variant: Callable[[int], tuple[np.ndarray, bool]]) -> None:
        """Read ``variant(i)`` (crop, flipped) of every reading below the confidence ``below``; keep the better."""
        doubtful = [i for i, r in enumerate(readings) if r.recognition.confidence < below]
        if not doubtful:
            return
        variants = [variant(i) for i in doubtful]
        recognitions = self.recognizer.read([crop for crop, _ in variants], self.options.batch_size)
        for i, (_, flipped), recognition in zip(doubtful, variants, recognitions):
            if recognition.confidence > readings[i].recognition.confidence:
                readings[i] = _Reading(recognition, flipped)


@dataclass
class _FileResult:
    """One input file on its way through `run_many`: the pages done so far, or the error that ended it."""

    path: str
    pages: list[Page] = field(default_factory=list)
    expected: int = 0  # pages decoded and sent for processing
    decode_ms: float = 0.0
    decoded: bool = False  # every page decoded (or an error met)
    error: InputError | None = None


def _finished(files: list[_FileResult]) -> Iterator[tuple[str, list[Page] | InputError]]:
    """Yield, and remove from the front of `files`, the files that are complete (in input order)."""
    while files and files[0].decoded and len(files[0].pages) == files[0].expected:
        entry = files.pop(0)
        if entry.error is not None:
            yield entry.path, entry.error
            continue
        for page in entry.pages:
            page.timings_ms["decode"] = entry.decode_ms / len(entry.pages)
        yield entry.path, entry.pages


@dataclass(frozen=True)
class _Reading:
    recognition: Recognition
    flipped: bool
