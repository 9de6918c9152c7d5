"""Recognizer throughput on CPU: crops per second by model, decoding mode (AR / NAR) and batch size.

    python benchmarks/recognizer.py [--threads N] [--quick] [--crops N] [--data DIR]   (or python -m benchmarks.recognizer)

Models: the shipped `clip4str-tiny` (ocrpipe/weights/clip4str-tiny.pt; a random model of the same preset when the
file is missing) and `clip4str-base` with random weights (the same cost as the official B/16 checkpoint, except for
the decoding length, see below). Crops are real word images (the first N of IIIT5K train), and the timing covers
what `Recognizer.read` does: resize, normalise, encode, decode.

AR decoding stops once every crop of a batch has emitted EOS, so its cost follows the longest word of the batch.
A trained model stops after about len(word) + 1 steps; a random one emits EOS only by chance. The "chars" column
(mean length of the text read; 26 = no EOS, every step run) shows which case a row is. NAR decoding costs the same
whatever the words.
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ocrpipe.recognizer.clip4str.checkpoint import load_model  # noqa: E402
from ocrpipe.recognizer.clip4str.config import PRESETS  # noqa: E402
from ocrpipe.recognizer.clip4str.model import CLIP4STR  # noqa: E402
from ocrpipe.recognizer.data import load_rgb, read_labels  # noqa: E402
from ocrpipe.recognizer.predictor import Recognizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHIPPED_TINY = REPO / "ocrpipe" / "weights" / "clip4str-tiny.pt"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "rec" / "iiit5k_train"
BATCH_SIZES = (1, 32, 128)


def models() -> list[tuple[str, str, CLIP4STR]]:
    """(name, where the weights come from, model)."""
    torch.manual_seed(0)
    if SHIPPED_TINY.is_file():
        tiny = ("clip4str-tiny", "shipped", load_model(SHIPPED_TINY))
    else:
        tiny = ("clip4str-tiny", "random", CLIP4STR(PRESETS["clip4str-tiny"]))
    return [tiny, ("clip4str-base", "random", CLIP4STR(PRESETS["clip4str-base"]))]


def load_crops(directory: Path, count: int) -> list[np.ndarray]:
    samples = read_labels(directory)[:count]
    if len(samples) < count:
        raise SystemExit(f"{directory}: {len(samples)} crops, {count} needed")
    return [np.asarray(load_rgb(sample.path)) for sample in samples]


def measure(recognizer: Recognizer, crops: list[np.ndarray], batch_size: int) -> tuple[float, float]:
    """(crops per second, mean length of the text read)."""
    recognizer.read(crops[:1], batch_size=1)  # warm-up: first-call allocations
    start = time.perf_counter()
    results = recognizer.read(crops, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return len(crops) / seconds, float(np.mean([len(r.text) for r in results]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--quick", action="store_true",
                        help="one batch per measurement (8 single crops at batch 1) instead of --crops crops")
    parser.add_argument("--crops", type=int, default=256, help="crops read per measurement (at least one batch)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a crop set with labels.tsv")
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "bf16"],
                        help="recognizer arithmetic(s) to time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    crops_per_run = 8 if args.quick else args.crops
    all_crops = load_crops(args.data, max(crops_per_run, *BATCH_SIZES))
    print(f"CPU: {platform.processor() or platform.machine()}, {args.threads} thread(s), torch {torch.__version__}, "
          f"crops: {args.data.name}{' (quick)' if args.quick else ''}\n")
    print("| model | weights | precision | decode | batch | crops/s | ms/crop | chars |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for name, weights, model in models():
        for precision in args.precision:
            for decode in ("ar", "nar"):
                recognizer = Recognizer(model, decode=decode, precision=precision)
                for batch_size in BATCH_SIZES:
                    crops = all_crops[:max(crops_per_run, batch_size)]
                    rate, chars = measure(recognizer, crops, batch_size)
                    print(f"| {name} | {weights} | {precision} | {decode} | {batch_size} | {rate:.1f} | "
                          f"{1000 / rate:.0f} | {chars:.1f} |", flush=True)


if __name__ == "__main__":
    main()
