"""Tilt: does a real page read line for line the same when it is turned? (issue #23)

Runs the pipeline on real development pages upright and turned by each angle (the canvas grown, white border), maps
the turned page's words back onto the upright page's and reports, per angle: words found again, read the same,
upright lines that come out as one line of the turned page in the same word order, and lines in the same reading
order (`ocrpipe.metrics.layout`). The same pages upright give 100% by construction.

    python benchmarks/tilt.py ../shared/data/e2e/sroie_dev ../shared/data/e2e/funsd_train --pages 4
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads, as the CLI does

from ocrpipe.io import load_image  # noqa: E402
from ocrpipe.metrics.det import load_annotations  # noqa: E402
from ocrpipe.metrics.layout import LineAgreement, line_agreement, turn_image  # noqa: E402
from ocrpipe.pipeline import Pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="full-image sets (images/ + ann/); their val split is used")
    parser.add_argument("--pages", type=int, default=4, help="pages per set")
    parser.add_argument("--angles", default="-12,-7,-3,3,7,12")
    parser.add_argument("--det-model", default="db-ppocr")
    parser.add_argument("--rec-model", default="clip4str-tiny")
    args = parser.parse_args()
    angles = [float(a) for a in args.angles.split(",")]
    pipeline = Pipeline.from_pretrained(args.det_model, args.rec_model, device="cpu")
    print("| set | angle | words found again | read the same | lines kept whole | lines in reading order |")
    print("|---|---|---|---|---|---|")
    for dataset in args.datasets:
        annotations = list(load_annotations(dataset, split="val").values())[:args.pages]
        images = [load_image(annotation.image) for annotation in annotations]
        upright = [pipeline.run(image) for image in images]
        for angle in angles:
            total = LineAgreement()
            for image, page in zip(images, upright):
                turned, matrix = turn_image(image, angle)
                total += line_agreement(page, pipeline.run(turned), matrix)
            print(f"| {Path(dataset).name} ({len(images)} pages) | {angle:+g}° | "
                  f"{total.matched / max(total.words, 1):.1%} | {total.same_text / max(total.matched, 1):.1%} | "
                  f"{total.same_lines / max(total.lines, 1):.1%} | {total.order_matches / max(total.lines, 1):.1%} |",
                  flush=True)


if __name__ == "__main__":
    main()
