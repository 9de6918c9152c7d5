"""Throughput of `ocrpipe run` with the shipped models: images/s and ms per stage, on CPU.

    python benchmarks/throughput.py [IMAGES_OR_FOLDERS...] [--threads N] [--repeat R] [--det-model NAME]

Default images: the 1280x720 IC15 photos in ../shared/data/e2e/ic15_toy. Reports the warm per-image time (models
loaded once, as in a batch run) split into decode / detect / recognize / layout / export, and the cold start
(process start + imports + model loading) of the CLI separately.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "e2e" / "ic15_toy" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--det-model", default="db-ppocr", help="detector name or file (default: the default)")
    args = parser.parse_args()
    images = [p for arg in (args.images or [DEFAULT_DIR])
              for p in (sorted(q for q in arg.iterdir() if q.is_file()) if arg.is_dir() else [arg])]

    import torch

    from ocrpipe import heap
    from ocrpipe.export import FORMATS
    from ocrpipe.io import load_image
    from ocrpipe.pipeline import Pipeline

    torch.set_num_threads(args.threads)
    heap.reuse_freed_memory()  # as `ocrpipe run` does
    started = time.perf_counter()
    pipeline = Pipeline.from_pretrained(args.det_model, device="cpu")
    load_s = time.perf_counter() - started
    pipeline.run(images[0])  # warm-up
    totals, stages, words = [], {}, []
    for _ in range(args.repeat):
        for image in images:
            started = time.perf_counter()
            page = pipeline.run(image)
            export_started = time.perf_counter()
            for _, render in FORMATS.values():
                render([page])
            page.timings_ms["export"] = (time.perf_counter() - export_started) * 1000
            totals.append((time.perf_counter() - started) * 1000)
            words.append(len(page.words))
            for name, ms in page.timings_ms.items():
                stages.setdefault(name, []).append(ms)
    cold = []
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ocrpipe", "run", "-q", "--det-model", args.det_model,
                        str(images[0])], check=True, capture_output=True)
        cold.append(time.perf_counter() - started)

    height, width = load_image(images[0]).shape[:2]
    size = f"{width}x{height}"
    print("| images | first size | threads | words/image | images/s | ms/image (median) | "
          + " | ".join(stages) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(stages))
    print(f"| {len(images)} | {size} | {args.threads} | {statistics.mean(words):.1f} | "
          f"{1000 * len(totals) / sum(totals):.2f} | {statistics.median(totals):.0f} | "
          + " | ".join(f"{statistics.median(v):.0f}" for v in stages.values()) + " |")
    print(f"\nmodel loading in-process: {load_s:.2f} s; cold `ocrpipe run` of one image (start, imports, models, "
          f"OCR): {min(cold):.2f} s")


if __name__ == "__main__":
    main()
