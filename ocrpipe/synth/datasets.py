"""Write synthetic sets to disk in the project's data set formats, and draw contact sheets to look at them.

- recognition: `OUT/images/00000000.png` … + `OUT/labels.tsv` (`images/00000000.png<TAB>text`)
- detection:   `OUT/images/000000.jpg` … + `OUT/ann/000000.json` ({"image", "width", "height", "instances"})

Sample i of a set depends only on (seed, i), so a set can be written by several processes (`workers`) and gives the
same files either way. `labels.tsv` is written last through a temporary file, so a set with a labels file is
complete; each detection annotation is likewise renamed into place after its image is written.
"""
from __future__ import annotations

import json
import os
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocrpipe.synth.fonts import FontInfo
from ocrpipe.synth.render import WordRenderer
from ocrpipe.synth.scene import SceneRenderer

T = TypeVar("T")


def _map(fn: Callable[[int], T], n: int, workers: int) -> Iterator[T]:
    """fn(0..n-1) in order, in `workers` processes when > 1."""
    if workers <= 1:
        yield from map(fn, range(n))
        return
    with get_context("fork" if os.name == "posix" else "spawn").Pool(workers) as pool:
        yield from pool.imap(fn, range(n), chunksize=max(1, min(16, n // (4 * workers))))


def _progress(items: Iterable[T], total: int, desc: str, show: bool) -> Iterable[T]:
    if not show:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, total=total, desc=desc, unit="img")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


class _RecJob:
    """Renders and saves crop i (a picklable callable for worker processes)."""

    def __init__(self, renderer: WordRenderer, images: Path, ext: str):
        self.renderer, self.images, self.ext = renderer, images, ext

    def __call__(self, i: int) -> tuple[str, str]:
        image, text = self.renderer.sample(i)
        name = f"{i:08d}.{self.ext}"
        Image.fromarray(image).save(self.images / name, quality=95)
        return f"images/{name}", text


def write_rec_dataset(out_dir: str | os.PathLike, n: int, seed: int = 0, split: str = "train",
                      fonts: Sequence[FontInfo] | None = None, ext: str = "png", workers: int = 1,
                      progress: bool = False) -> Path:
    """Write `n` recognizer crops rendered with the `split` fonts ("train" or "val"); returns the labels.tsv path."""
    out = Path(out_dir)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    job = _RecJob(WordRenderer(seed, fonts=fonts, split=split), images, ext)
    rows = [f"{path}\t{text}\n" for path, text in _progress(_map(job, n, workers), n, "synth rec", progress)]
    labels = out / "labels.tsv"
    _write_atomic(labels, "".join(rows).encode("utf-8"))
    return labels


class _DetJob:
    """Renders and saves scene i with its annotation."""

    def __init__(self, renderer: SceneRenderer, out: Path):
        self.renderer, self.out = renderer, out

    def __call__(self, i: int) -> int:
        image, instances = self.renderer.sample(i)
        stem = f"{i:06d}"
        Image.fromarray(image).save(self.out / "images" / f"{stem}.jpg", quality=90)
        h, w = image.shape[:2]
        ann = {"image": f"images/{stem}.jpg", "width": w, "height": h, "instances": instances}
        _write_atomic(self.out / "ann" / f"{stem}.json", json.dumps(ann).encode("utf-8"))
        return len(instances)


def write_det_dataset(out_dir: str | os.PathLike, n: int, seed: int = 0, split: str = "train",
                      fonts: Sequence[FontInfo] | None = None, workers: int = 1, progress: bool = False) -> int:
    """Write `n` detection images with word polygons; returns the number of word instances written."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "ann").mkdir(parents=True, exist_ok=True)
    job = _DetJob(SceneRenderer(seed, fonts=fonts, split=split), out)
    return sum(_progress(_map(job, n, workers), n, "synth det", progress))


def contact_sheet(images: Sequence[np.ndarray], labels: Sequence[str], path: str | os.PathLike,
                  columns: int = 8, cell: tuple[int, int] = (200, 64)) -> Path:
    """Save a PNG grid: each image scaled to fit `cell` (width, height) with its label printed underneath."""
    cw, ch = cell
    label_h = 16
    rows = max(1, -(-len(images) // columns))
    sheet = Image.new("RGB", (columns * cw, rows * (ch + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for k, (image, label) in enumerate(zip(images, labels)):
        im = Image.fromarray(image)
        im.thumbnail((cw - 4, ch - 4))
        x, y = (k % columns) * cw, (k // columns) * (ch + label_h)
        sheet.paste(im, (x + 2, y + 2))
        draw.text((x + 2, y + ch), label, fill=(200, 0, 0), font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def draw_instances(image: np.ndarray, instances: Sequence[dict]) -> np.ndarray:
    """A copy of a detection image with its polygons drawn (green; red for don't-care) for inspection."""
    im = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(im)
    for inst in instances:
        pts = list(zip(inst["polygon"][0::2], inst["polygon"][1::2]))
        draw.line(pts + pts[:1], fill=(255, 0, 0) if inst["ignore"] else (0, 220, 0), width=2)
        draw.ellipse([pts[0][0] - 3, pts[0][1] - 3, pts[0][0] + 3, pts[0][1] + 3], fill=(0, 0, 255))
    return np.asarray(im)
