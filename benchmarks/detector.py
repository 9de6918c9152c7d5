"""DB detector speed per stage on the CPU: resize, network, post-process; prints a markdown table.

    python benchmarks/detector.py [--weights db.pt] [--image photo.jpg] [--sizes 736 960 1280] [--threads 1]
                                  [--precision auto fp32]

Without ``--weights`` the network has random weights, whose probability map holds no text, so the post-process
column then times a synthetic map of the same size with 300 word-sized blobs instead (marked with *).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from ocrpipe.detectors.db.model import DBNet, resize_for_inference
from ocrpipe.detectors.db.postprocess import regions_from_prob
from ocrpipe.detectors.db.predictor import DBDetector, load_weights

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "shared" / "data" / "e2e" / "ic15_toy" / "images" / "img_1.jpg"


def busy_map(height: int, width: int, words: int = 300, seed: int = 0) -> np.ndarray:
    """A probability map with `words` rotated word-like blobs on a grid."""
    rng = np.random.default_rng(seed)
    prob = np.zeros((height, width), np.float32)
    cols = int(np.ceil(np.sqrt(words * width / height)))
    rows = int(np.ceil(words / cols))
    cell_w, cell_h = width / cols, height / rows
    for i in range(words):
        centre = ((i % cols + 0.5) * cell_w, (i // cols + 0.5) * cell_h)
        size = (rng.uniform(0.3, 0.8) * cell_w, rng.uniform(0.15, 0.3) * cell_h)
        corners = cv2.boxPoints((centre, size, rng.uniform(-20, 20)))
        cv2.fillPoly(prob, [np.round(corners).astype(np.int32)], 0.9)
    return prob


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of fn() in ms over `repeats` runs (after one warm-up), and its last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, help="ocrpipe-db/1 weights (default: random weights)")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="RGB test image (default: ic15 img_1)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[736, 960, 1280], help="long-side limits")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--precision", nargs="+", default=["auto", "fp32"], choices=["auto", "fp32"],
                        help="detector arithmetic (auto: bfloat16 on CPUs that have it in hardware)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = load_weights(args.weights)[0] if args.weights else DBNet().eval()
    if args.image.exists():
        image = cv2.cvtColor(cv2.imread(str(args.image)), cv2.COLOR_BGR2RGB)
    else:
        image = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    height, width = image.shape[:2]
    params = sum(p.numel() for p in model.parameters())
    print(f"image {width}x{height}, {params / 1e6:.2f} M parameters, {args.threads} thread(s), "
          f"{'weights ' + str(args.weights) if args.weights else 'random weights'}, config {model.config}\n")
    print("| long side | precision | network input | resize ms | network ms | post-process ms | total ms | images/s |")
    print("|---|---|---|---|---|---|---|---|")
    for side in args.sizes:
        config = replace(model.config, limit_side=side, limit_type="max")
        resize_ms, resized = timed(lambda: resize_for_inference(image, config), args.repeats)
        new_w, new_h = resized.size
        for precision in args.precision:
            detector = DBDetector(model, precision=precision)
            network_ms, out = timed(lambda: detector.network([resized.tensor])[0], args.repeats)
            prob = out[:new_h, :new_w] if args.weights else busy_map(new_h, new_w)
            post_ms, regions = timed(lambda: regions_from_prob(prob, (width, height)), args.repeats)
            mark = "" if args.weights else "*"
            total = resize_ms + network_ms + post_ms
            label = f"{precision} ({detector.autocast_dtype or torch.float32})".replace("torch.", "")
            print(f"| {side} | {label} | {out.shape[1]}x{out.shape[0]} | {resize_ms:.1f} | {network_ms:.1f} | "
                  f"{post_ms:.1f}{mark} ({len(regions)} regions) | {total:.1f} | {1000 / total:.2f} |")
    if not args.weights:
        print("\n* post-process timed on a synthetic probability map with 300 word blobs (random weights find none)")


if __name__ == "__main__":
    main()
