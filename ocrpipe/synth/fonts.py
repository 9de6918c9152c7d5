"""Find the fonts the synthetic renderer may use, check them, group them into families and split train/validation.

A font file is usable when it renders every letter and digit with a real glyph. FreeType draws a missing character
with glyph 0 (".notdef", usually an empty box, sometimes nothing), so a character whose bitmap equals the bitmap of a
code point no font has is "tofu" and counts as missing. Punctuation a font lacks is recorded in `FontInfo.missing`
so the renderer can avoid it. Fonts whose lower case is just small capitals are marked `caps_only` (text drawn with
them is upper-cased, which keeps the label honest). Symbol and dingbat fonts are dropped by name, because they map
Latin letters to real but foreign glyphs (Greek, arrows) that the tofu test cannot catch.

Validation holds out whole families (`VALIDATION_FAMILIES`) so that accuracy on them measures generalisation to
unseen type designs. Run `scripts/install_fonts.sh` to get a wide set; DejaVu alone is enough for tests.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import ImageFont

from ocrpipe.synth.text import CHARSET

DEFAULT_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
FONT_SUFFIXES = (".ttf", ".otf")

# Held out from training (with every family sharing their first word): a sans, a serif, a handwriting-like face.
VALIDATION_FAMILIES = ("Open Sans", "EB Garamond", "Comic Neue")

# Family or style names containing any of these (case-insensitive) are symbol, icon, maths, keyboard-key or
# white-on-black fonts, not text.
BLOCKED_NAME_PARTS = ("symbol", "dingbat", "d050000l", "ornament", "icon", "awesome", "emoji", "math", "braille",
                      "wingding", "webding", "marlett", "barcode", "unifont", "keyboard", "inverted")

_PROBE_SIZE = 32
_ABSENT_CHAR = "\U0010fffd"  # private-use code point: no font maps it, so it shows the font's .notdef glyph
_CASE_PROBE = "abdefghnqrt"  # letters whose lower and upper case differ in shape in ordinary fonts
_ALNUM = frozenset(c for c in CHARSET if c.isalnum())


@dataclass(frozen=True)
class FontInfo:
    """One usable font file."""

    path: str
    family: str
    style: str
    missing: str = ""  # characters of CHARSET without a glyph (punctuation only; letters/digits are required)
    caps_only: bool = False  # lower case letters are drawn as capitals

    def load(self, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(self.path, size)


def find_font_files(dirs: Iterable[str | os.PathLike] = DEFAULT_FONT_DIRS) -> list[Path]:
    """All .ttf/.otf files under `dirs`, resolved through symlinks, without duplicates, sorted by path."""
    found: set[Path] = set()
    for d in dirs:
        root = Path(d).expanduser()
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.suffix.lower() in FONT_SUFFIXES and path.is_file():
                found.add(path.resolve())
    return sorted(found)


def _glyph_bitmap(font: ImageFont.FreeTypeFont, ch: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def missing_glyphs(font: ImageFont.FreeTypeFont, chars: str) -> str:
    """The visible characters of `chars` the font draws as tofu: no ink, or the .notdef glyph."""
    notdef = _glyph_bitmap(font, _ABSENT_CHAR)
    missing = []
    for ch in chars:
        size, bitmap = _glyph_bitmap(font, ch)
        if size[0] * size[1] == 0 or not any(bitmap) or (size, bitmap) == notdef:
            missing.append(ch)
    return "".join(missing)


def _normalised_shape(font: ImageFont.FreeTypeFont, ch: str, side: int = 16) -> np.ndarray:
    """The ink of one glyph cropped to its box and resized to side×side, as booleans."""
    mask = font.getmask(ch)
    w, h = mask.size
    if w == 0 or h == 0:
        return np.zeros((side, side), bool)
    ink = np.asarray(mask, dtype=np.uint8).reshape(h, w) > 127
    ys = (np.arange(side) * h) // side
    xs = (np.arange(side) * w) // side
    return ink[np.ix_(ys, xs)]


def is_caps_only(font: ImageFont.FreeTypeFont) -> bool:
    """True when lower-case letters have the same shape as the capitals (caps-only or small-caps fonts)."""
    ious = []
    for ch in _CASE_PROBE:
        a, b = _normalised_shape(font, ch), _normalised_shape(font, ch.upper())
        union = np.logical_or(a, b).sum()
        ious.append(np.logical_and(a, b).sum() / union if union else 1.0)
    return float(np.mean(ious)) > 0.67  # ordinary fonts score 0.3-0.6, small caps 0.68+, caps-only ~1


def probe_font(path: str | os.PathLike) -> FontInfo | None:
    """Check one font file; None when it cannot be loaded, is a symbol font or lacks a letter or digit."""
    try:
        font = ImageFont.truetype(str(path), _PROBE_SIZE)
        family, style = font.getname()
    except (OSError, ValueError):
        return None
    family, style = (family or Path(path).stem).strip(), (style or "Regular").strip()
    if any(part in f"{family} {style}".lower() for part in BLOCKED_NAME_PARTS):
        return None
    missing = missing_glyphs(font, CHARSET)
    if _ALNUM.intersection(missing):
        return None
    return FontInfo(str(path), family, style, missing, is_caps_only(font))


_PROBE_VERSION = "1"  # bump when probe_font's rules change, to invalidate caches


def _cache_key(paths: Sequence[Path]) -> str:
    h = hashlib.sha256(_PROBE_VERSION.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{int(st.st_mtime)}\n".encode())
    return h.hexdigest()


def discover_fonts(dirs: Iterable[str | os.PathLike] | None = None,
                   cache_dir: str | os.PathLike | None = None) -> list[FontInfo]:
    """Usable fonts under `dirs` (default: the system font folders), one per (family, style), sorted by path.

    Probing a few hundred fonts takes seconds, so the result is cached as JSON in `cache_dir` (default
    `$OCRPIPE_HOME/synth`, `~/.cache/ocrpipe/synth`), keyed on the paths, sizes and mtimes of the files.
    """
    paths = find_font_files(DEFAULT_FONT_DIRS if dirs is None else dirs)
    cache_root = Path(cache_dir or Path(os.environ.get("OCRPIPE_HOME", "~/.cache/ocrpipe")) / "synth").expanduser()
    cache_file = cache_root / f"fonts-{_cache_key(paths)[:16]}.json"
    if cache_file.is_file():
        return [FontInfo(**d) for d in json.loads(cache_file.read_text())]
    fonts: dict[tuple[str, str], FontInfo] = {}
    for path in paths:
        info = probe_font(path)
        if info is not None:
            fonts.setdefault((info.family, info.style), info)
    result = sorted(fonts.values(), key=lambda f: f.path)
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps([asdict(f) for f in result]))
        tmp.replace(cache_file)
    except OSError:
        pass  # a read-only home only costs the re-probe next time
    return result


def superfamily(family: str) -> str:
    """The first word of a family name, lower-cased: "Tiresias Signfont Z" and "Tiresias PCfont" are one design
    family, as are "Quicksand Light" and "Quicksand". Sampling and the train/validation split work on these."""
    return family.split()[0].lower() if family.split() else family


def group_families(fonts: Iterable[FontInfo]) -> dict[str, list[FontInfo]]:
    """Fonts keyed by superfamily, keys and members sorted for determinism."""
    groups: dict[str, list[FontInfo]] = {}
    for f in fonts:
        groups.setdefault(superfamily(f.family), []).append(f)
    return {k: sorted(groups[k], key=lambda f: f.path) for k in sorted(groups)}


def split_fonts(fonts: Sequence[FontInfo], held_out: Sequence[str] = VALIDATION_FAMILIES
                ) -> tuple[list[FontInfo], list[FontInfo]]:
    """(train, validation) fonts. Validation takes the superfamilies of the `held_out` names that are installed;
    when none is, the alphabetically last superfamily, so that both splits exist whenever there are two. No
    superfamily is in both splits."""
    groups = group_families(fonts)
    val_keys = {superfamily(name) for name in held_out} & set(groups)
    if not val_keys and len(groups) >= 2:
        val_keys = {sorted(groups)[-1]}
    train = [f for k, members in groups.items() if k not in val_keys for f in members]
    val = [f for k, members in groups.items() if k in val_keys for f in members]
    return train, val


def load_fonts(split: str = "train", font_dir: str | os.PathLike | None = None) -> list[FontInfo]:
    """Fonts for `split` ("train", "val" or "all"), from `font_dir` instead of the system folders when given."""
    fonts = discover_fonts(None if font_dir is None else [font_dir])
    if not fonts:
        raise FileNotFoundError(f"no usable fonts found in {font_dir or DEFAULT_FONT_DIRS}; "
                                "run scripts/install_fonts.sh")
    if split == "all":
        return fonts
    train, val = split_fonts(fonts)
    if split == "train":
        return train or fonts
    if split == "val":
        return val or fonts  # a single superfamily cannot be split: both splits then use it
    raise ValueError(f"unknown font split {split!r} (expected train, val or all)")
