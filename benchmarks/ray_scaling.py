"""Images per second of `ocrpipe run` on the local engine and on Ray with 1 and 2 workers, same images, whole process
(start-up and model loading included, as a user's batch would run).

    python benchmarks/ray_scaling.py --count 40 --json ray.json

Also reports, for Ray, the overhead per image against the local engine: (Ray seconds - local seconds) / images; the
workers share the machine's CPUs as torch threads (cpus // workers each), as the local engine uses them all.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DEFAULT_POOL = SHARED / "data" / "e2e" / "ic15_toy" / "images"


def timed_run(folder: Path, out: Path, options: list[str]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "ocrpipe", "run", str(folder), "-o", str(out), "-f", "json",
                             "-q", *options], capture_output=True, text=True, env={**os.environ})
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ray_scaling: {' '.join(options) or 'local'} failed: {result.stderr[-1000:]}")
    return {"seconds": round(seconds, 1), "outputs": sum(1 for _ in out.rglob("*.json"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=Path, default=DEFAULT_POOL, help="Folder of images, copied up to --count.")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pool = sorted(p for p in args.pool.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "in"
        folder.mkdir()
        for index in range(args.count):
            source = pool[index % len(pool)]
            shutil.copyfile(source, folder / f"{index:05d}{source.suffix}")
        runs = {"local": timed_run(folder, Path(scratch) / "local", [])}
        for workers in (1, 2):
            runs[f"ray, {workers} worker(s)"] = timed_run(folder, Path(scratch) / f"ray{workers}",
                                                          ["--engine", "ray", "--workers", str(workers)])
    for run in runs.values():
        run["images_per_s"] = round(args.count / run["seconds"], 3)
    for name, run in runs.items():
        if name != "local":
            run["overhead_s_per_image"] = round((run["seconds"] - runs["local"]["seconds"]) / args.count, 3)
    result = {"images": args.count, "cpus": cpus, "pool": str(args.pool), "runs": runs}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
