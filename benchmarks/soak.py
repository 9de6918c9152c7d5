"""Soak: one `ocrpipe run` over thousands of inputs, a share of them bad or odd, with its memory sampled every second.

    python benchmarks/soak.py --count 5000 --work /tmp/soak --json soak.json         # the full soak (hours on 2 cores)
    python benchmarks/soak.py --count 200 --work /tmp/soak --json soak.json          # the version CI runs

Good inputs are copies of real development images (`--pool`, default the e2e sets in ../shared/data) and, with
`--synth N`, N synthetic pages and scenes rendered by `ocrpipe synth det` (needs the fonts, scripts/install_fonts.sh).
`--bad-share` of the inputs are made from them in one of the kinds below: some must fail with exactly one error line
(truncated, empty, HTML or text under an image name, a decompression bomb), the others are odd but valid and must be
read (16-bit, CMYK, palette, alpha, EXIF-rotated, two-page TIFF, PNG named .jpg, a 1 x 20000 strip).

Checked: exit code 3, every good input has all its outputs and no error line, every bad one exactly one error line and
no output, no temporary file left. Reported: images/s, process RSS at the end of warm-up (the first 10% of inputs),
peak and end, the slope of RSS against inputs done after warm-up (MB per 1000 inputs), and the median and peak RSS
in each tenth of the run with the slope of those medians: RSS swings by gigabytes within a group of large pages, so
the medians show a trend that one least-squares line through every sample can hide or invent. The same figures are
reported (`child_rss_*`) for the largest process below `ocrpipe`, where there is one: the worker holding the models
on the Ray engine (`-- --engine ray --workers 1`). `--samples FILE` keeps every sample (seconds, inputs done, RSS MB,
largest child's RSS MB) as CSV.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DEFAULT_POOL = [SHARED / "data" / "e2e" / name / "images" for name in ("ic15_toy", "funsd_train", "sroie_dev")]
FORMATS = ("json", "txt")


def _encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def _bomb_header() -> bytes:
    """A PNG that claims 30000 x 30000 pixels (the pixel limit must refuse it before decoding)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + \
        chunk(b"IEND", b"")


def _exif_rotated(image: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turned 90 degrees
    return _encoded(image.rotate(90, expand=True), "JPEG", exif=exif, quality=90)


# kind -> (file suffix, expected outcome, maker from a good RGB image)
KINDS = {
    "truncated": (".jpg", "error", lambda im: _encoded(im, "JPEG", quality=90)[:2000]),
    "empty": (".png", "error", lambda im: b""),
    "html_as_jpg": (".jpg", "error", lambda im: b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n"),
    "text_as_png": (".png", "error", lambda im: b"this is not an image\n" * 20),
    "bomb": (".png", "error", lambda im: _bomb_header()),
    "png_as_jpg": (".jpg", "ok", lambda im: _encoded(im, "PNG")),
    "gray16": (".png", "ok", lambda im: _encoded(Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257),
                                                 "PNG")),
    "cmyk": (".jpg", "ok", lambda im: _encoded(im.convert("CMYK"), "JPEG", quality=90)),
    "palette": (".png", "ok", lambda im: _encoded(im.convert("P", palette=Image.Palette.ADAPTIVE), "PNG")),
    "alpha": (".png", "ok", lambda im: _encoded(im.convert("RGBA"), "PNG")),
    "exif_rotated": (".jpg", "ok", _exif_rotated),
    "two_page_tiff": (".tif", "ok", lambda im: _encoded(im, "TIFF", save_all=True, append_images=[im.rotate(180)])),
    "strip": (".png", "ok", lambda im: _encoded(Image.new("RGB", (20000, 1), "white"), "PNG")),
}


def good_pool(folders: list[Path], synth: int, work: Path, seed: int) -> list[Path]:
    images = [path for folder in folders if folder.is_dir() for path in sorted(folder.iterdir())
              if path.suffix.lower() in (".jpg", ".jpeg", ".png")]
    if synth:
        out = work / "synth"
        subprocess.run([sys.executable, "-m", "ocrpipe", "synth", "det", str(out), "-n", str(synth), "--split", "val",
                        "--seed", str(seed)], check=True, capture_output=True)
        images += sorted((out / "images").iterdir())
    if not images:
        raise SystemExit("soak: no good images found (give --pool or --synth)")
    return images


def make_inputs(pool: list[Path], folder: Path, count: int, bad_share: float, seed: int) -> dict[str, str]:
    """Write `count` inputs into `folder` (100 per subfolder); returns {relative path: "ok" or "error"}."""
    rng = random.Random(seed)
    expected = {}
    kinds = list(KINDS)
    bad = 0
    for index in range(count):
        source = pool[rng.randrange(len(pool))]
        sub = folder / f"{index // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        if rng.random() < bad_share:
            kind = kinds[bad % len(kinds)]  # every kind in turn
            bad += 1
            suffix, outcome, maker = KINDS[kind]
            with Image.open(source) as image:
                data = maker(image.convert("RGB"))
            path = sub / f"{index:05d}_{kind}{suffix}"
            path.write_bytes(data)
            expected[str(path.relative_to(folder))] = outcome
        else:
            path = sub / f"{index:05d}{source.suffix.lower()}"
            shutil.copyfile(source, path)
            expected[str(path.relative_to(folder))] = "ok"
    return expected


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0)


def descendants(root: int) -> list[int]:
    """Every process below `root` (children, their children, ...), from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # the name may hold spaces and ")"
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


@dataclass
class Memory:
    """RSS of one process and of the largest process below it (a Ray worker, where the Ray engine runs), sampled
    every `period` seconds, with the number of finished inputs at each sample."""
    pid: int
    count_done: object  # callable () -> int
    period: float = 1.0
    samples: list[tuple[float, int, float, float]] = field(default_factory=list)  # (s, done, RSS MB, largest child MB)

    def run(self, stop: threading.Event) -> None:
        started = time.perf_counter()
        while not stop.is_set():
            rss = _rss_mb(self.pid)
            if rss is None:
                return
            child = max((_rss_mb(pid) or 0.0 for pid in descendants(self.pid)), default=0.0)
            self.samples.append((time.perf_counter() - started, self.count_done(), rss, child))
            stop.wait(self.period)


def outputs_done(out: Path) -> int:
    return sum(1 for _ in out.rglob("*.txt")) if out.exists() else 0


def soak(work: Path, count: int, bad_share: float, seed: int, pool: list[Path], extra_args: list[str],
         samples_csv: Path | None = None) -> dict:
    inputs, out = work / "inputs", work / "out"
    shutil.rmtree(inputs, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    expected = make_inputs(pool, inputs, count, bad_share, seed)

    command = [sys.executable, "-m", "ocrpipe", "run", str(inputs), "-r", "-o", str(out), "-f", ",".join(FORMATS),
               "-q", *extra_args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=work)
    memory = Memory(process.pid, lambda: outputs_done(out))
    stop = threading.Event()
    sampler = threading.Thread(target=memory.run, args=(stop,), daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if samples_csv is not None:
        samples_csv.write_text("seconds,inputs_done,rss_mb,largest_child_rss_mb\n"
                               + "".join(f"{t:.1f},{n},{r:.1f},{c:.1f}\n" for t, n, r, c in memory.samples))
    return report(expected, inputs, out, process.returncode, stderr, seconds, memory.samples, count)


def report(expected: dict[str, str], inputs: Path, out: Path, exit_code: int, stderr: str, seconds: float,
           samples: list[tuple[float, int, float, float]], count: int) -> dict:
    error_lines = [line for line in stderr.splitlines() if line.startswith("ocrpipe: error:")]
    problems = []
    for relative, outcome in expected.items():
        mentioned = sum(relative in line for line in error_lines)
        written = [out / inputs.name / Path(relative).with_suffix(f".{fmt}") for fmt in FORMATS]
        if outcome == "ok" and (mentioned or not all(path.is_file() for path in written)):
            problems.append(f"{relative}: good input without all its outputs ({mentioned} error lines)")
        if outcome == "error" and (mentioned != 1 or any(path.exists() for path in written)):
            problems.append(f"{relative}: bad input with {mentioned} error lines")
    leftovers = [str(path) for path in out.rglob("*.tmp")] if out.exists() else []
    problems += [f"temporary file left: {path}" for path in leftovers]
    if exit_code != 3:
        problems.append(f"exit code {exit_code}, expected 3")
    if len(error_lines) != sum(outcome == "error" for outcome in expected.values()):
        problems.append(f"{len(error_lines)} error lines for {sum(o == 'error' for o in expected.values())} bad inputs")

    figures = {
        "inputs": count, "good": sum(o == "ok" for o in expected.values()),
        "bad": sum(o == "error" for o in expected.values()),
        "outputs": sum(1 for path in out.rglob("*") if path.is_file()) if out.exists() else 0,
        "error_lines": len(error_lines), "exit_code": exit_code, "seconds": round(seconds, 1),
        "images_per_s": round(count / seconds, 3),
        **memory_trend("rss", [(s[1], s[2]) for s in samples], count),
    }
    if any(s[3] for s in samples):
        figures.update(memory_trend("child_rss", [(s[1], s[3]) for s in samples], count))
    return {**figures, "problems": problems[:50], "problem_count": len(problems)}


def memory_trend(name: str, samples: list[tuple[int, float]], count: int) -> dict:
    """Level and trend of one memory series of (inputs done, MB) samples: after warm-up (the first 10% of inputs),
    peak, end, least-squares slope after warm-up, and the median and peak of each tenth of the run with the slope of
    those medians (MB per 1000 inputs)."""
    warm = [s for s in samples if s[0] >= count // 10] or samples
    done = np.array([s[0] for s in warm], dtype=float)
    mb = np.array([s[1] for s in warm], dtype=float)
    slope = round(float(np.polyfit(done, mb, 1)[0] * 1000), 2) if len(set(done)) >= 10 else None  # too short
    tenths = [[s[1] for s in samples if tenth * count / 10 <= s[0] < (tenth + 1) * count / 10] for tenth in range(10)]
    medians = [(tenth, float(np.median(window))) for tenth, window in enumerate(tenths) if window and tenth >= 1]
    median_slope = (round(float(np.polyfit([(t + 0.5) * count / 10 for t, _ in medians], [m for _, m in medians], 1)[0]
                                * 1000), 2) if len(medians) >= 3 else None)
    return {
        f"{name}_mb_after_warmup": round(float(mb[0]), 1) if len(mb) else None,
        f"{name}_mb_peak": round(max(s[1] for s in samples), 1) if samples else None,
        f"{name}_mb_end": round(float(mb[-1]), 1) if len(mb) else None,
        f"{name}_slope_mb_per_1000_inputs": slope,
        f"{name}_mb_median_by_tenth": [round(float(np.median(w)), 1) if w else None for w in tenths],
        f"{name}_mb_peak_by_tenth": [round(max(w), 1) if w else None for w in tenths],
        f"{name}_median_slope_mb_per_1000_inputs": median_slope,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--bad-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, required=True, help="Scratch folder (inputs and outputs go here).")
    parser.add_argument("--pool", type=Path, nargs="*", default=DEFAULT_POOL, help="Folders of good images.")
    parser.add_argument("--synth", type=int, default=0, help="Also render this many synthetic pages and scenes.")
    parser.add_argument("--json", type=Path, help="Write the figures here.")
    parser.add_argument("--samples", type=Path, help="Write every RSS sample here (CSV).")
    parser.add_argument("run_args", nargs="*", help="More `ocrpipe run` options, after --.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    result = soak(args.work, args.count, args.bad_share, args.seed,
                  good_pool(args.pool, args.synth, args.work, args.seed), args.run_args, args.samples)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    sys.exit(0 if not result["problems"] else 1)


if __name__ == "__main__":
    main()
