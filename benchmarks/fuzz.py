"""Time-budgeted fuzzing of what reads untrusted bytes (issue #25): mutated real files must give a result or the
project's own one-line errors, never another exception.

    python benchmarks/fuzz.py TARGET [--minutes 20] [--seed 0] [--corpus tests/fuzz_corpus]

Targets: ``decode`` (images and PDFs, ``io.decode_bytes``), ``weights`` (the shipped detector and recognizer files,
``models.load_detector`` / ``load_recognizer``), ``files-from`` (``--files-from`` lists, ``io.collect_inputs``).
Mutations are those of ``tests/test_fuzz.py`` (flipped bytes, cuts, duplicated or deleted stretches, junk spliced
in), seeded per trial, so any failure reproduces from its trial number. An input that raises anything else is
written to ``CORPUS/TARGET/<sha1>`` (replayed by ``tests/test_fuzz.py``; inputs over 1 MB go to the temporary folder
instead, to be turned into small tests) and reported; the run goes on. Prints one
summary line: trials, outcomes, crashers.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is not installed: its mutation helpers are imported from the checkout

from ocrpipe.errors import InputError, ModelError, UsageError  # noqa: E402
from tests.test_fuzz import mutated, seeds  # noqa: E402


def decode_target() -> tuple[list[tuple[str, bytes]], Callable[[str, bytes], str]]:
    from ocrpipe.io import decode_bytes

    def run(name: str, data: bytes) -> str:
        try:
            pages = decode_bytes(data, name, max_pixels=4_000_000)
        except InputError as error:
            assert "\n" not in str(error) and str(error).startswith(name), f"bad message: {error!r}"
            return "InputError"
        assert all(page.dtype.name == "uint8" and page.ndim == 3 and page.shape[2] == 3 for page in pages)
        return "decoded"

    return list(seeds(ROOT.parent / "shared").items()), run


def weights_target() -> tuple[list[tuple[str, bytes]], Callable[[str, bytes], str]]:
    from ocrpipe.models import SHIPPED_DIR, load_detector, load_recognizer

    loaders = {"db-tiny.pt": load_detector, "db-ppocr.pt": load_detector, "clip4str-tiny.pt": load_recognizer}
    folder = Path(tempfile.mkdtemp(prefix="ocrpipe-fuzz-"))

    def run(name: str, data: bytes) -> str:
        path = folder / name
        path.write_bytes(data)
        try:
            loaders[name](str(path))
        except ModelError as error:
            assert "\n" not in str(error), f"message of several lines: {error!r}"
            return "ModelError"
        return "loaded"

    return [(name, (SHIPPED_DIR / name).read_bytes()) for name in loaders], run


def files_from_target() -> tuple[list[tuple[str, bytes]], Callable[[str, bytes], str]]:
    from ocrpipe.io import collect_inputs

    folder = Path(tempfile.mkdtemp(prefix="ocrpipe-fuzz-"))
    images = ROOT.parent / "shared" / "data" / "e2e" / "ic15_toy" / "images"
    seed = "\n".join([str(images / "img_1.jpg"), str(images), "missing.png", "", "sub/dir/page.pdf"]).encode()

    def run(name: str, data: bytes) -> str:
        listing = folder / name
        listing.write_bytes(data)
        try:
            collect_inputs([], files_from=listing)
        except (UsageError, InputError) as error:
            assert "\n" not in str(error), f"message of several lines: {error!r}"
            return type(error).__name__
        return "listed"

    return [("list.txt", seed)], run


TARGETS = {"decode": decode_target, "weights": weights_target, "files-from": files_from_target}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "fuzz_corpus")
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp(prefix="ocrpipe-fuzz-cwd-"))  # relative names in lists resolve somewhere harmless
    files, run = TARGETS[args.target]()
    outcomes: Counter[str] = Counter()
    crashers = 0
    deadline = time.monotonic() + 60 * args.minutes
    trial = 0
    while time.monotonic() < deadline:
        name, data = files[trial % len(files)]
        sample = mutated(data, random.Random(f"{args.seed}:{trial}"))
        try:
            outcomes[run(name, sample)] += 1
        except Exception as error:  # noqa: BLE001 - what the fuzzer is looking for
            crashers += 1
            outcomes["CRASH"] += 1
            # crashers over 1 MB (damaged weights files) are kept out of the repository: reproduce them as small tests
            kept_in = args.corpus if len(sample) <= 1 << 20 else Path(tempfile.gettempdir()) / "ocrpipe-fuzz"
            folder = kept_in / args.target
            folder.mkdir(parents=True, exist_ok=True)
            saved = folder / f"{Path(name).stem}-{hashlib.sha1(sample).hexdigest()[:12]}{Path(name).suffix}"
            saved.write_bytes(sample)
            print(f"trial {trial} ({name}): {type(error).__name__}: {str(error)[:200]} -> {saved}", flush=True)
        trial += 1
    print(f"{args.target}: {trial} trials in {args.minutes:g} min, seed {args.seed}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) + f"; crashers {crashers}")


if __name__ == "__main__":
    main()
