"""Reading input images, and finding them.

Decoding: every raster format goes through one path, Pillow, and comes out as RGB uint8 arrays (H×W×3), one per
page, EXIF orientation applied. TIFF files give one array per page; other multi-frame formats (GIF, WebP, MPO) give
their first frame. PDF files (recognised by their header, whatever the extension) are rendered page by page
(`ocrpipe.pdf`). Anything that cannot be decoded fully raises `InputError` with a one-line reason.

Finding: `collect_inputs` expands folders and `--files-from` lists into `InputFile`s, and `output_path` says where
each one's results go under the output folder.
"""
from __future__ import annotations

import fnmatch
import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePath
from typing import BinaryIO, NoReturn, TextIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ocrpipe.errors import InputError, UsageError
from ocrpipe.pdf import is_pdf, render_pages

# A 600-dpi A3 scan is 7016 × 9921 ≈ 70 MP; leave some room above that.
DEFAULT_MAX_PIXELS = 100_000_000

IMAGE_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".dib", ".webp", ".gif",
    ".pbm", ".pgm", ".ppm", ".pnm", ".jp2", ".j2k", ".pdf",
})

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


# ---------------------------------------------------------------------------------------------------------------
# Decoding


@dataclass(frozen=True)
class PageImage:
    """One decoded page: RGB uint8 pixels (H×W×3) and their resolution in dots per inch when known (the render
    resolution of a PDF page, the DPI a raster file records; None otherwise)."""

    pixels: np.ndarray
    dpi: float | None = None


def iter_page_images(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS,
                     pdf_dpi: float | None = None) -> Iterator[PageImage]:
    """Yield each page of the image or PDF file at `path`, decoding one page at a time."""
    with _open_input(path) as file:
        yield from _decode(file, str(path), max_pixels, pdf_dpi)


def load_page_images(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS,
                     pdf_dpi: float | None = None) -> list[PageImage]:
    """All pages of the file at `path` (one for every format but PDF and multi-page TIFF)."""
    return list(iter_page_images(path, max_pixels, pdf_dpi))


def iter_pages(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[np.ndarray]:
    """Yield each page of the file at `path` as RGB uint8 (H×W×3), decoding one page at a time."""
    return (page.pixels for page in iter_page_images(path, max_pixels))


def load_pages(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> list[np.ndarray]:
    """All pages of the file at `path` as RGB arrays."""
    return list(iter_pages(path, max_pixels))


def load_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The first page of the file at `path` (later pages are not decoded)."""
    pages = iter_page_images(path, max_pixels)
    try:
        return next(pages).pixels
    finally:
        pages.close()


def decode_bytes(data: bytes, name: str = "<bytes>", max_pixels: int = DEFAULT_MAX_PIXELS) -> list[np.ndarray]:
    """All pages of an encoded image held in memory; `name` is used in error messages."""
    if not data:
        raise InputError(name, "empty file")
    return [page.pixels for page in _decode(BytesIO(data), name, max_pixels)]


def _open_input(path: str | os.PathLike[str]) -> BinaryIO:
    """Open an input file for reading, turning every reason it cannot be read into an `InputError`."""
    if Path(path).is_dir():
        raise InputError(path, "is a directory")
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as error:
        raise InputError(path, f"cannot read ({error.strerror or error})") from None
    if os.fstat(file.fileno()).st_size == 0:
        file.close()
        raise InputError(path, "empty file")
    return file


def _decode(file: BinaryIO, name: str, max_pixels: int, pdf_dpi: float | None = None) -> Iterator[PageImage]:
    """Decode every page of `file` (only the first frame for raster formats other than TIFF)."""
    head = file.read(1024)
    file.seek(0)
    if is_pdf(head):
        for pixels, dpi in render_pages(file.read(), name, max_pixels, pdf_dpi):
            yield PageImage(pixels, dpi)
        return
    with _pillow_errors(name):
        image = _open_image(file, name)
    with image:
        with _pillow_errors(name):  # counting a TIFF's pages reads its page headers, which may be damaged
            page_count = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
        for index in range(page_count):
            with _pillow_errors(name):
                image.seek(index)
                width, height = image.size
                if width * height > max_pixels:
                    raise InputError(name, f"image too large ({width}×{height} = {width * height / 1e6:.1f} MP, "
                                           f"limit {max_pixels / 1e6:.1f} MP)")
                image.load()  # full decode now, so truncated data fails here and not later
                upright = ImageOps.exif_transpose(image)
            yield PageImage(to_rgb(upright), _recorded_dpi(image))


def _recorded_dpi(image: Image.Image) -> float | None:
    """The horizontal resolution the file records, when it is a plausible one (many files say 1 or 72 by default:
    72 is kept, values under 10 are not)."""
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return value if value >= 10 else None


def _open_image(file: BinaryIO, name: str) -> Image.Image:
    """`Image.open` (reads the header only); Pillow's decompression-bomb warning is ours to report, not to print."""
    with warnings.catch_warnings():
        # Pillow warns between MAX_IMAGE_PIXELS and twice that; our own `max_pixels` check decides instead.
        # (The filter is process-wide while this block runs: harmless, it only hides that one warning.)
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(file)
        except UnidentifiedImageError:
            raise InputError(name, "not an image (cannot decode)") from None
        except Image.DecompressionBombError:
            limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
            raise InputError(name, f"image too large (over Pillow's decompression-bomb limit of "
                                   f"{limit / 1e6:.0f} MP)") from None


@contextmanager
def _pillow_errors(name: str) -> Iterator[None]:
    """Whatever a Pillow decoder raises on bad data becomes an `InputError` for `name`.

    Decoders of untrusted files raise many exception types (OSError, SyntaxError, ValueError, EOFError, struct.error,
    ...), hence the broad catch; it wraps only Pillow calls, never our own conversion code. KeyboardInterrupt is not
    an Exception and goes through. Pillow's warnings about damaged data (corrupt EXIF, TIFF tags past the end) are
    silenced: the file either decodes or becomes an `InputError`, and the user reads one line either way.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    except InputError:
        raise
    except MemoryError:
        raise InputError(name, "out of memory while decoding") from None
    except Exception as error:
        detail = " ".join(str(error).split())[:120] or type(error).__name__
        raise InputError(name, f"truncated or corrupt image ({detail})") from None


def to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow image as an RGB uint8 array: alpha composited on white, 16-bit and float scaled to 8 bit."""
    if image.mode in _HIGH_DEPTH_MODES:
        gray = scale_to_uint8(np.asarray(image))
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.array(image.convert("RGB"), dtype=np.uint8)


def scale_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map a high-depth single-channel array to uint8 by its value range, rounding (never clipping):

    - integers within 0..65535 (16-bit data): value / 257, so 65535 → 255;
    - floats within 0..1: value × 255;
    - anything else (32-bit ints, other floats): stretched from its minimum to its maximum.
    """
    data = np.nan_to_num(values.astype(np.float32))
    low, high = float(data.min()), float(data.max())
    if values.dtype.kind in "ui" and low >= 0 and high <= 65535:
        scaled = data / 257
    elif values.dtype.kind == "f" and low >= 0 and high <= 1:
        scaled = data * 255
    elif high > low:
        scaled = (data - low) * (255 / (high - low))
    else:
        scaled = np.zeros_like(data)
    return np.rint(scaled).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# Finding inputs and naming outputs


@dataclass(frozen=True)
class InputFile:
    """One input to process.

    `path` is where to read it (it may not exist: reading it then raises `InputError`, so a missing input is reported
    like any other unreadable file). `out_name` is where its results go, relative to the output folder and without
    extension (see `collect_inputs`).
    """

    path: Path
    out_name: PurePath


def collect_inputs(inputs: Iterable[str | os.PathLike[str]], recursive: bool = False, glob: str | None = None,
                   files_from: str | os.PathLike[str] | None = None, stdin: TextIO | None = None,
                   ) -> list[InputFile]:
    """Expand the command line's inputs into the files to process, in a stable order, each file once.

    - A folder gives its image files (by extension, or those matching `glob`, which is matched against the name, or
      against the path below the folder when it contains a `/`), sorted by path; `recursive` also walks subfolders.
      Hidden files and folders (name starting with `.`) are skipped.
    - A file is kept as given, whatever its extension; a path that does not exist is kept too, so that reading it
      reports the error.
    - `files_from` names a text file (or `-` for `stdin`) with one input per line; blank lines are skipped.

    Output names mirror the input's path relative to the current folder (`a/b.png` → `a/b`); an input outside the
    current folder mirrors its path below the folder argument that found it, or just its name. When two inputs
    would still share an output name (`b.png` and `b.jpg`), both keep their extension (`b.png`, `b.jpg`).
    Raises `UsageError` if the `files_from` list cannot be read or two inputs cannot be told apart that way.
    """
    arguments = [Path(item) for item in inputs]
    if files_from is not None:
        arguments += [Path(line) for line in _read_list(files_from, stdin or sys.stdin)]

    cwd = Path.cwd()
    found: dict[str, tuple[Path, PurePath]] = {}  # normalized absolute path → (path, output name with extension)
    for argument in arguments:
        if argument.is_dir():
            pairs = [(path, path.relative_to(argument)) for path in _files_in_folder(argument, recursive, glob)]
        else:
            pairs = [(argument, PurePath(argument.name))]
        for path, below_root in pairs:
            absolute = Path(os.path.abspath(path))
            key = os.path.normcase(str(absolute))
            if key not in found:
                found[key] = (path, _mirrored_name(absolute, below_root, cwd))
    return _name_outputs(list(found.values()))


def output_path(item: InputFile, out_dir: str | os.PathLike[str], suffix: str, page_index: int = 0) -> Path:
    """Where `item`'s result in format `suffix` (e.g. `.json`) goes: `OUT/a/b.json`.

    Pages after the first of a multi-page file get their 1-based page number: `OUT/a/b.p2.json`, `b.p3.json`, ...
    """
    page = f".p{page_index + 1}" if page_index > 0 else ""
    return Path(out_dir) / item.out_name.parent / f"{item.out_name.name}{page}{suffix}"


def _read_list(files_from: str | os.PathLike[str], stdin: TextIO) -> list[str]:
    """The non-blank lines of a `--files-from` list (`-` = stdin), stripped."""
    try:
        if str(files_from) == "-":
            text = stdin.read()
        else:
            text = Path(files_from).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the --files-from list {files_from}: {error}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _files_in_folder(folder: Path, recursive: bool, glob: str | None) -> list[Path]:
    """Image files in `folder` (and below it when `recursive`), sorted by their path below `folder`."""
    if recursive:
        walk: Iterable[tuple[str, list[str], list[str]]] = os.walk(folder, onerror=_cannot_list)
    else:
        try:
            walk = [(str(folder), [], os.listdir(folder))]
        except OSError as error:
            _cannot_list(error)
    found = []
    for directory, subfolders, names in walk:
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]  # os.walk skips what we remove
        for name in names:
            path = Path(directory, name)
            if not name.startswith(".") and path.is_file() and _wanted(path.relative_to(folder), glob):
                found.append(path)
    return sorted(found, key=lambda path: path.relative_to(folder).parts)


def _cannot_list(error: OSError) -> NoReturn:
    raise UsageError(f"cannot list the folder {error.filename}: {error.strerror}")


def _wanted(below_folder: PurePath, glob: str | None) -> bool:
    if glob is None:
        return below_folder.suffix.lower() in IMAGE_EXTENSIONS
    subject = below_folder.as_posix() if "/" in glob else below_folder.name
    return fnmatch.fnmatch(subject, glob)


def _mirrored_name(absolute: Path, below_root: PurePath, cwd: Path) -> PurePath:
    """The input's path relative to `cwd` when it lies inside it, else its path below the folder that found it."""
    try:
        return PurePath(absolute.relative_to(cwd))
    except ValueError:
        return below_root


_PAGE_SUFFIX = re.compile(r"(.+)\.p\d+", re.IGNORECASE)  # the names `output_path` gives pages after the first


def _name_outputs(found: list[tuple[Path, PurePath]]) -> list[InputFile]:
    """Drop extensions from output names, except where that would make two inputs share one."""
    stems = [name.with_suffix("") for _, name in found]
    taken: dict[str, int] = {}
    for stem in stems:
        key = str(stem).casefold()  # case-insensitive file systems would collide too
        taken[key] = taken.get(key, 0) + 1
    for stem in stems:  # `b.p2.png` next to `b.tif`: page 2 of b.tif writes `b.p2.*`, so b.p2.png keeps its extension
        page_of = _PAGE_SUFFIX.fullmatch(stem.name)
        if page_of and str(stem.with_name(page_of.group(1))).casefold() in taken:
            taken[str(stem).casefold()] += 1
    items = [InputFile(path, stem if taken[str(stem).casefold()] == 1 else name)
             for (path, name), stem in zip(found, stems)]
    seen: dict[str, Path] = {}
    for item in items:
        key = str(item.out_name).casefold()
        if key in seen:
            raise UsageError(f"{seen[key]} and {item.path} would write the same output ({item.out_name}.*); "
                             f"give the folder that holds them instead")
        seen[key] = item.path
    return items
