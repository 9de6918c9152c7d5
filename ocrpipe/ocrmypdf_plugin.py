"""ocrpipe as OCRmyPDF's OCR engine: ``ocrmypdf --plugin ocrpipe.ocrmypdf_plugin in.pdf out.pdf``.

OCRmyPDF keeps doing what it does (rasterising, PDF/A, optimisation, keeping vector pages, `--deskew`, ...); for each
page image it asks this engine for an hOCR file and a text file, which ocrpipe writes with its own exporters. The
plugin blocks OCRmyPDF's built-in Tesseract engine (so Tesseract need not be installed) and adds three options:
``--ocrpipe-det-model``, ``--ocrpipe-rec-model`` (registry names or weights files, as ``ocrpipe run``) and
``--ocrpipe-min-conf``. Needs ``pip install ocrmypdf`` (17 or newer).

OCRmyPDF runs pages in parallel worker processes; each loads the models once and uses its share of the CPU threads.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads, as the CLI does

from ocrmypdf import hookimpl  # noqa: E402
from ocrmypdf.exceptions import BadArgsError  # noqa: E402
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence  # noqa: E402

from ocrpipe import __version__  # noqa: E402
from ocrpipe.errors import OcrpipeError  # noqa: E402
from ocrpipe.models import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER, resolve  # noqa: E402

TESSERACT_PLUGIN = "ocrmypdf.builtin_plugins.tesseract_ocr"


@hookimpl
def initialize(plugin_manager) -> None:
    plugin_manager.set_blocked(TESSERACT_PLUGIN)


@hookimpl
def register_options() -> dict:
    """OCRmyPDF's option checks read the Tesseract options whichever engine runs: keep their model (defaults)."""
    from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOptions

    return {"tesseract": TesseractOptions}


@hookimpl
def add_options(parser) -> None:
    group = parser.add_argument_group("ocrpipe", "ocrpipe's models (the OCR engine of this run)")
    group.add_argument("--ocrpipe-det-model", default=DEFAULT_DETECTOR, metavar="NAME|PATH",
                       help=f"Detector weights (default {DEFAULT_DETECTOR}).")
    group.add_argument("--ocrpipe-rec-model", default=DEFAULT_RECOGNIZER, metavar="NAME|PATH",
                       help=f"Recognizer weights (default {DEFAULT_RECOGNIZER}).")
    group.add_argument("--ocrpipe-min-conf", type=float, default=None, metavar="FLOAT",
                       help="Drop words read with lower confidence (default: ocrpipe's own).")


@hookimpl
def check_options(options) -> None:
    """Fail at once, in one line, on weights that cannot be found or a confidence outside 0..1."""
    settings = _settings(options)
    try:
        resolve(settings["det_model"], "detector")
        resolve(settings["rec_model"], "recognizer")
    except OcrpipeError as error:
        raise BadArgsError(f"ocrpipe: {error}") from None
    if settings["min_conf"] is not None and not 0 <= settings["min_conf"] <= 1:
        raise BadArgsError(f"ocrpipe: --ocrpipe-min-conf {settings['min_conf']} is not between 0 and 1")


@hookimpl
def get_ocr_engine(options):
    if options is not None and getattr(options, "ocr_engine", "auto") == "none":
        return None  # OCRmyPDF's own "no OCR" engine answers
    return OcrpipeEngine()


class OcrpipeEngine(OcrEngine):
    """Reads each page image with ocrpipe's pipeline and writes its hOCR and text."""

    @staticmethod
    def version() -> str:
        return __version__

    @staticmethod
    def creator_tag(options) -> str:
        return f"ocrpipe {__version__}"

    def __str__(self) -> str:
        return f"ocrpipe {__version__}"

    @staticmethod
    def languages(options) -> set[str]:
        return {"eng"}  # the recognizer reads Latin letters, digits and ASCII punctuation

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        return OrientationConfidence(angle=0, confidence=0.0)  # no orientation model: pages are taken as they come

    @staticmethod
    def get_deskew(input_file: Path, options) -> float:
        """For `ocrmypdf --deskew`: the angle that straightens the page (PIL's, counter-clockwise), from the words'
        own angles (`ocrpipe.layout.page_skew`). It costs one more reading of the page."""
        return -_pipeline(**_settings(options)).run(input_file).skew

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options) -> None:
        from ocrpipe.export.hocr import to_hocr
        from ocrpipe.export.text import to_text

        page = _pipeline(**_settings(options)).run(input_file)
        Path(output_hocr).write_text(to_hocr([page]), encoding="utf-8")
        Path(output_text).write_text(to_text([page]), encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options) -> None:
        raise NotImplementedError("ocrpipe writes hOCR only: use OCRmyPDF's default --pdf-renderer (auto or fpdf2)")


def _settings(options) -> dict:
    return {"det_model": getattr(options, "ocrpipe_det_model", None) or DEFAULT_DETECTOR,
            "rec_model": getattr(options, "ocrpipe_rec_model", None) or DEFAULT_RECOGNIZER,
            "min_conf": getattr(options, "ocrpipe_min_conf", None),
            "jobs": getattr(options, "jobs", None)}


@functools.lru_cache(maxsize=1)
def _pipeline(det_model: str, rec_model: str, min_conf: float | None, jobs: int | None):
    """The models, loaded once per worker process; torch gets this worker's share of the CPU cores."""
    import torch

    from ocrpipe.pipeline import Pipeline

    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, cores // max(1, jobs or cores)))
    options = {} if min_conf is None else {"min_conf": min_conf}
    return Pipeline.from_pretrained(det_model, rec_model, **options)
