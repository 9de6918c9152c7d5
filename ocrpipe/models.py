"""Model registry: names -> weight files, and loading detectors/recognizers by name or path.

Shipped weights live in `ocrpipe/weights/`, with their sha256 in `ocrpipe/weights/SHA256SUMS` (`sha256sum`
format); a shipped file that does not match is refused as damaged or replaced. Weights a user brings (official
CLIP4STR checkpoints) live in `$OCRPIPE_HOME` (default `~/.cache/ocrpipe`) under the registry's file name, or are
passed by path.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ocrpipe.errors import ModelError
from ocrpipe.types import ModelInfo

if TYPE_CHECKING:  # torch is imported lazily: the CLI's --help must not pay for it
    import torch

SHIPPED_DIR = Path(__file__).resolve().parent / "weights"
CHECKSUMS = "SHA256SUMS"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "detector" or "recognizer"
    filename: str
    shipped: bool
    description: str
    line_finder: str | None = None  # a detector that finds the text lines first (``detectors/db/line_words.py``)


REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("db-ppocr", "detector", "db-ppocr.pt", True,
              "words in two stages: PaddleOCR's PP-OCRv4 mobile detector as published finds the text lines, the "
              "same detector fine-tuned here to single words splits each line, cut out at one text height "
              "(Apache-2.0, see NOTICE; MODEL_CARD.md)", line_finder="ppocr-v4-lines"),
    ModelSpec("db-ppocr-words", "detector", "db-ppocr.pt", True,
              "the word detector of db-ppocr alone, on whole images with its two-look input-size rule (the default "
              "until the seventeenth session)"),
    ModelSpec("db-tiny", "detector", "db-tiny.pt", True,
              "DB text detector, small hand-written backbone, trained here (see MODEL_CARD.md)"),
    ModelSpec("ppocr-v4-lines", "detector", "ppocr-v4-lines.pt", True,
              "PaddleOCR's PP-OCRv4 mobile DB detector as published (text lines, cut into words at ink gaps when "
              "used alone; Apache-2.0): converted by `ocrpipe models import-ppocr` from the rapidocr_onnxruntime "
              "wheel"),
    ModelSpec("clip4str-tiny", "recognizer", "clip4str-tiny.pt", True,
              "CLIP4STR, 32x128 input, small ViT, trained here (see MODEL_CARD.md)"),
    ModelSpec("clip4str-base", "recognizer", "clip4str-base.pt", False,
              "official CLIP4STR-B/16 checkpoint (.ckpt or .pt from the CLIP4STR release), any file name"),
    ModelSpec("clip4str-large", "recognizer", "clip4str-large.pt", False,
              "official CLIP4STR-L/14 checkpoint"),
)}

DEFAULT_DETECTOR = "db-ppocr"
DEFAULT_RECOGNIZER = "clip4str-tiny"


def ocrpipe_home() -> Path:
    return Path(os.environ.get("OCRPIPE_HOME", Path.home() / ".cache" / "ocrpipe"))


def spec_path(spec: ModelSpec) -> Path:
    return (SHIPPED_DIR if spec.shipped else ocrpipe_home()) / spec.filename


def resolve(name_or_path: str, kind: str) -> tuple[str, Path]:
    """(display name, weights file) for a registry name or a path; raises ModelError naming the missing file."""
    spec = REGISTRY.get(name_or_path)
    if spec is not None:
        if spec.kind != kind:
            raise ModelError(f"{name_or_path} is a {spec.kind}, not a {kind}")
        path = spec_path(spec)
        if not path.is_file():
            where = "the package is incomplete; reinstall ocrpipe" if spec.shipped else \
                "put the weights file there (or set OCRPIPE_HOME, or pass the file's path)"
            raise ModelError(f"{spec.name}: weights file {path} not found: {where}")
        return spec.name, path
    path = Path(name_or_path)
    if path.is_file():
        return path.name, path
    known = ", ".join(n for n, s in REGISTRY.items() if s.kind == kind)
    raise ModelError(f"{name_or_path}: no such {kind} weights file or model name (known names: {known})")


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checked_sha256(name: str, path: Path) -> str:
    """The file's sha256; for a shipped model, checked against `SHA256SUMS` next to it (ModelError if it differs:
    a truncated download, a damaged disk, a file swapped by hand)."""
    digest = file_sha256(path)
    spec = REGISTRY.get(name)
    if spec is None or not spec.shipped:
        return digest
    expected = read_checksums(path.parent / CHECKSUMS)
    wanted = expected.get(path.name)
    if wanted != digest:
        why = f"sha256 {digest[:12]}…, expected {wanted[:12]}…" if wanted else f"not listed in {CHECKSUMS}"
        raise ModelError(f"{name}: weights file {path} is damaged or was replaced ({why}): reinstall ocrpipe")
    return digest


def read_checksums(path: Path) -> dict[str, str]:
    """File name -> sha256 from a `sha256sum` listing (`<hex>  <name>`, or `<hex> *<name>`); {} if it is missing."""
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def load_recognizer(name_or_path: str = DEFAULT_RECOGNIZER, device: str = "cpu", trust: bool = False,
                    **options):
    """(Recognizer, ModelInfo). Imports torch lazily, so the CLI's --help stays fast."""
    from ocrpipe.recognizer.clip4str.checkpoint import CheckpointError
    from ocrpipe.recognizer.predictor import Recognizer

    name, path = resolve(name_or_path, "recognizer")
    digest = checked_sha256(name, path)
    try:
        recognizer = Recognizer.from_file(path, device=device, trust=trust, **options)
    except CheckpointError as error:
        raise ModelError(str(error)) from error
    return recognizer, ModelInfo(name, digest)


def load_detector(name_or_path: str = DEFAULT_DETECTOR, device: str = "cpu", limit_side: int | None = None,
                  **options):
    """(detector, ModelInfo): a ``DBDetector``, or for a model with a line finder a ``LineWordDetector`` (its
    ModelInfo carries the word detector's sha256; the line finder's file is checked too). ``limit_side`` is the
    input long side of the detector that looks at whole images (the line finder, where there is one); ``options``
    go to ``DBDetector`` (``params`` to the word detector)."""
    from ocrpipe.detectors.db.line_words import LineWordDetector, LineWords
    from ocrpipe.detectors.db.predictor import DBDetector

    name, path = resolve(name_or_path, "detector")
    digest = checked_sha256(name, path)
    spec = REGISTRY.get(name)
    line_finder = spec.line_finder if spec is not None else None
    try:
        if line_finder is None:
            return DBDetector.from_file(path, device=device, limit_side=limit_side, **options), ModelInfo(name, digest)
        words = DBDetector.from_file(path, device=device, **options)
        line_name, path = resolve(line_finder, "detector")
        checked_sha256(line_name, path)
        lines = DBDetector.from_file(path, device=device, precision=options.get("precision", "auto"))
    except (ValueError, KeyError, RuntimeError, OSError) as error:
        raise ModelError(f"{path}: not a usable detector weights file ({error})") from error
    settings = LineWords(**words.meta.get("line_words", {}))
    if limit_side is not None:
        settings = replace(settings, line_side=limit_side)
    return LineWordDetector(lines, words, settings), ModelInfo(name, digest)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic in hardware (AVX512-BF16 or AMX), so that oneDNN runs bf16
    convolutions and matrix products faster than float32 ones; without it (AVX2-only CPUs) bf16 is emulated and
    8-11x slower than float32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch built without oneDNN
        return False


def training_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision type to train in, or None for plain float32: bfloat16 on GPUs that support it (Ampere
    and later: float32's range, no loss scaling) and on CPUs with native bf16, float16 on older GPUs (train with a
    GradScaler then), float32 on CPUs without native bf16 (decided on the machine at run time)."""
    import torch

    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None


def pick_device(device: str) -> str:
    """'auto' -> 'cuda' when available, else 'cpu'; anything else is checked and returned."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"--device {device}: CUDA is not available on this machine")
    return device
