"""Training data for the word stage of the two-stage detector: canvases of line strips with their word boxes.

At inference (`ocrpipe.detectors.db.line_words`) the word detector never sees a whole image: it sees canvases of
text lines, each cut out at one text height. This script makes that kind of image from an annotated set
(images/ + ann/*.json): the line finder runs on each image of the chosen split, its lines are cut and packed exactly
as at inference, and the ground-truth words are mapped into the canvases. A word counts for the strip whose text band
holds its centre; any other word that shows in a strip (the edge of a neighbouring line in the margin) is marked
don't-care. Line annotations (SROIE) are split into words with their transcripts first; lines that cannot be split
are don't-care. The result is an annotated set of its own (canvases/ + ann/*.json), for `ocrpipe train det --ann`.

    python scripts/line_canvases.py ../shared/data/e2e/sroie_train data/canvases/sroie_train
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2

from ocrpipe.detectors.db.data import sample_from_annotation
from ocrpipe.detectors.db.line_words import cut_strip, pack_strips, paint_canvases, words_into_strip
from ocrpipe.metrics.det import load_annotations
from ocrpipe.models import load_detector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--split", default="train", help="which part of the set (train: the detector's own)")
    parser.add_argument("--detector", default="db-ppocr", help="the two-stage detector whose line finder is used")
    args = parser.parse_args()

    detector, _ = load_detector(args.detector)
    settings = detector.settings
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    (args.out / "ann").mkdir(parents=True, exist_ok=True)
    count = 0
    for stem, annotation in load_annotations(args.dataset, args.split).items():
        sample = sample_from_annotation(annotation, "word")
        lines = detector.lines.detect([sample.image])[0]
        strips = [s for s in (cut_strip(sample.image, line.polygon, settings) for line in lines) if s is not None]
        if not strips:
            continue
        placements = pack_strips([s.image.shape[1::-1] for s in strips], settings.canvas_width,
                                 settings.canvas_height, settings.gap)
        for index, canvas in enumerate(paint_canvases(strips, placements)):
            instances = [inst for s, p in zip(strips, placements) if p.canvas == index
                         for inst in words_into_strip(sample.polygons, sample.ignore, s, p)]
            name = f"{stem}_{index}"
            cv2.imwrite(str(args.out / "images" / f"{name}.png"), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
            (args.out / "ann" / f"{name}.json").write_text(json.dumps({
                "image": f"images/{name}.png", "width": canvas.shape[1], "height": canvas.shape[0],
                "instances": [{"polygon": [round(float(v), 2) for v in polygon.ravel()], "text": "w",
                               "ignore": bool(ignored)} for polygon, ignored in instances]}))
            count += 1
    print(f"{count} canvases in {args.out}")


if __name__ == "__main__":
    main()
