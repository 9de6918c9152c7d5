"""ocrpipe against RapidOCR 3.10 on the same CPU, side by side in one run (issue #24).

Both tools run as whole processes, as a user starts them (start-up, imports and model loading included), over the
same images: `ocrpipe run FILES -o TMP -f json` and a Python process that loops RapidOCR over the files. A second
pair of processes times each image warm (after one warm-up image). Reported: images/s, the ratio, warm ms/image,
peak RSS, CPU features and threads. RapidOCR needs its own environment (its wheels pull a non-headless OpenCV):

    python3 -m venv /work/rapid && /work/rapid/bin/pip install rapidocr==3.10.0 onnxruntime
    python benchmarks/vs_peers.py --rapidocr-python /work/rapid/bin/python

Images: all of `../shared/data/e2e/ic15_toy` (1280×720 scene photos) and the validation parts of `sroie_dev`
(receipts) and `funsd_train` (forms), `--per-set` of each. `--copies N` makes the whole-process batch N copies of
each (distinct file names; neither tool caches anything), for batch lengths beyond the images there are: only 10
development photos exist here, so `--sets ic15_toy --copies 5` is the 50-photo batch of issue #24.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "e2e"
SETS = ("ic15_toy", "sroie_dev", "funsd_train")

WARM_OCRPIPE = """
import json, sys, time
from ocrpipe import heap
from ocrpipe.pipeline import Pipeline
heap.reuse_freed_memory()  # as `ocrpipe run` does
pipeline = Pipeline.from_pretrained(device="cpu")
paths = sys.argv[1:]
pipeline.run(paths[0])
times = []
for path in paths:
    started = time.perf_counter(); pipeline.run(path); times.append((time.perf_counter() - started) * 1000)
print(json.dumps(times))
"""
WARM_RAPIDOCR = """
import json, sys, time
from rapidocr import RapidOCR
engine = RapidOCR()
paths = sys.argv[1:]
engine(paths[0])
times = []
for path in paths:
    started = time.perf_counter(); engine(path); times.append((time.perf_counter() - started) * 1000)
print(json.dumps(times))
"""
WHOLE_RAPIDOCR = """
import sys
from rapidocr import RapidOCR
engine = RapidOCR()
for path in sys.argv[1:]:
    result = engine(path)
    print(path, len(result.txts or ()))
"""


def images(per_set: int, sets: Sequence[str] = SETS) -> list[Path]:
    from ocrpipe.metrics.det import load_annotations

    chosen = []
    for name in sets:
        split = "all" if name == "ic15_toy" else "val"
        chosen += [annotation.image for annotation in load_annotations(SHARED / name, split).values()][:per_set]
    return chosen


def timed(command: list[str], env: dict) -> tuple[float, float, str]:
    """Run `command`; returns (wall seconds, peak RSS in MiB, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"failed: {' '.join(command[:4])} ...")
    return wall, usage.ru_maxrss / 1024, output


def cpu_features() -> str:
    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    return ", ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags) or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapidocr-python", required=True, help="a Python with rapidocr==3.10.0 installed")
    parser.add_argument("--per-set", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="whole-process runs per tool (best kept)")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--copies", type=int, default=1, help="whole-process batch: this many copies of each image")
    args = parser.parse_args()
    paths = [str(p) for p in images(args.per_set, args.sets)]
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    ocrpipe_bin = str(Path(sys.executable).parent / "ocrpipe")
    rows = {}
    with tempfile.TemporaryDirectory() as work:
        out, batch = Path(work) / "out", Path(work) / "batch"
        batch.mkdir()
        for copy in range(args.copies):
            for path in map(Path, paths):
                shutil.copyfile(path, batch / f"{copy:02d}_{path.parent.parent.name}_{path.name}")
        batch_paths = sorted(str(p) for p in batch.iterdir())
        commands = {"ocrpipe": [ocrpipe_bin, "run", *batch_paths, "-o", str(out), "-f", "json", "-q"],
                    "RapidOCR 3.10": [args.rapidocr_python, "-c", WHOLE_RAPIDOCR, *batch_paths]}
        for tool, command in commands.items():
            runs = [timed(command, env) for _ in range(args.repeat)]
            rows[tool] = {"wall": min(r[0] for r in runs), "rss": max(r[1] for r in runs)}
    for tool, (python, script) in {"ocrpipe": (sys.executable, WARM_OCRPIPE),
                                   "RapidOCR 3.10": (args.rapidocr_python, WARM_RAPIDOCR)}.items():
        _, _, output = timed([python, "-c", script, *paths], env)
        rows[tool]["warm"] = statistics.median(json.loads(output.strip().splitlines()[-1]))
    print(f"{len(batch_paths)} images ({args.per_set} per set: {', '.join(args.sets)}; {args.copies} copies of each); "
          f"CPU: {os.cpu_count()} cores, "
          f"{cpu_features()}; threads: each tool's default; OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']}\n")
    print("| tool | whole process, s (best of %d) | images/s | warm ms/image (median) | peak RSS MiB |" % args.repeat)
    print("|---|---|---|---|---|")
    for tool, row in rows.items():
        print(f"| {tool} | {row['wall']:.1f} | {len(batch_paths) / row['wall']:.2f} | {row['warm']:.0f} | {row['rss']:.0f} |")
    ratio = rows["RapidOCR 3.10"]["wall"] / rows["ocrpipe"]["wall"]
    print(f"\nocrpipe / RapidOCR images/s: {ratio:.2f}x")


if __name__ == "__main__":
    main()
