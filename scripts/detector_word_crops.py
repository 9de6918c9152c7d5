"""Cut word crops the way the pipeline cuts them: where the shipped detector finds words, labelled with the
annotated word each one matches (a labels.tsv recognition set).

`scripts/word_crops_from_annotations.py` cuts crops from the annotation's boxes; the pipeline reads crops cut from
the detector's boxes, which are tighter or looser, clipped or joined in their own ways. Training on these teaches
the recognizer the crops it will really see. A detected word is labelled when it shows exactly one annotated word
(`label_of`; line annotations are split into words as in the other script); other detections are skipped.
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


def label_of(region: Polygon, words: list[tuple[Polygon, str]], iou: float, inside: float = 0.65,
             other: float = 0.3) -> str | None:
    """The text of the annotated word the detected `region` shows, or None when it shows no single word: the best
    overlapping word must reach IoU `iou` and lie at least `inside` of its area within the region (a clipped word
    would teach letters the crop does not show), and no other word may lie `other` of its area within it (two
    words joined in one box would teach the recognizer to skip one)."""
    shares = [(shape.intersection(region).area, shape, text) for shape, text in words if shape.intersects(region)]
    if not shares:
        return None
    overlap, shape, text = max(shares, key=lambda s: s[0] / max(s[1].union(region).area, 1e-6))
    if overlap / max(shape.union(region).area, 1e-6) < iou or overlap < inside * shape.area:
        return None
    if any(area >= other * s.area for area, s, _ in shares if s is not shape):
        return None
    return text


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
            text = label_of(Polygon(region.polygon).buffer(0), words, args.iou)
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
