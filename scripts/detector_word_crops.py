"""Cut word crops the way the pipeline cuts them: where the shipped detector finds words, labelled with the
annotated word each one matches (a labels.tsv recognition set).

`scripts/word_crops_from_annotations.py` cuts crops from the annotation's boxes; the pipeline reads crops cut from
the detector's boxes, which are tighter or looser, clipped or joined in their own ways. Training on these teaches
the recognizer the crops it will really see. A detected word is labelled when it overlaps one annotated word
(IoU >= `--iou`; line annotations are split into words as in the other script); unmatched detections are skipped.
Only the chosen split of the image set is used (default "train"), so evaluation's held-out images stay unseen.

    python scripts/detector_word_crops.py ../shared/data/e2e/funsd_train data/funsd_det_words
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from shapely.geometry import Polygon

from ocrpipe.detectors.db.words import split_line
from ocrpipe.geometry import rectify
from ocrpipe.io import load_image
from ocrpipe.metrics.det import load_annotations
from ocrpipe.models import load_detector


def annotated_words(image: np.ndarray, annotation) -> list[tuple[Polygon, str]]:
    """The annotation's words as (polygon, text); lines are split where ink gaps agree with the transcript."""
    words = []
    for instance in annotation.instances:
        texts = instance.text.split()
        if instance.ignore or not texts:
            continue
        quad = np.asarray(instance.polygon, dtype=np.float64)
        pieces = [quad] if len(texts) == 1 else split_line(image, quad, instance.text)
        if pieces and len(pieces) == len(texts):
            words += [(Polygon(piece).buffer(0), text) for piece, text in zip(pieces, texts)]
    return words


def best_match(region: Polygon, words: list[tuple[Polygon, str]], iou: float) -> str | None:
    """The text of the annotated word `region` overlaps most, if their IoU reaches `iou`."""
    best, best_iou = None, iou
    for shape, text in words:
        if not shape.intersects(region):
            continue
        overlap = shape.intersection(region).area / max(shape.union(region).area, 1e-6)
        if overlap >= best_iou:
            best, best_iou = text, overlap
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("out_dir")
    parser.add_argument("--split", choices=["all", "train", "val"], default="train")
    parser.add_argument("--det-model", default="db-ppocr")
    parser.add_argument("--iou", type=float, default=0.5)
    args = parser.parse_args()
    out = Path(args.out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    detector, _ = load_detector(args.det_model)
    rows = []
    for stem, annotation in load_annotations(args.dataset, args.split).items():
        image = load_image(annotation.image)
        words = annotated_words(image, annotation)
        for k, region in enumerate(detector.detect([image])[0]):
            text = best_match(Polygon(region.polygon).buffer(0), words, args.iou)
            if text is None or len(text) > 25:
                continue
            crop, _ = rectify(image, region.polygon)
            if min(crop.shape[:2]) < 4:
                continue
            name = f"images/{stem}_{k:03d}_00.png"
            cv2.imwrite(str(out / name), crop[:, :, ::-1])
            rows.append(f"{name}\t{text}\n")
    (out / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    print(f"{len(rows)} word crops in {out}")


if __name__ == "__main__":
    main()
