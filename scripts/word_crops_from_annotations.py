"""Cut word crops (a labels.tsv recognition set) out of an annotated full-image set (images/ + ann/*.json).

Line annotations (e.g. SROIE) are split into words where the ink gaps agree with the transcript
(`ocrpipe.detectors.db.words.split_line`); lines that cannot be split convincingly are skipped. Only the chosen split of the
image set is used (default "train": the part detector training also uses), so crops never come from images that
evaluation holds out.

SROIE's transcripts are upper-cased whatever the print says ("Total" -> "TOTAL"), so a case-sensitive recognizer
should only learn its letter-free words (numbers, prices, dates, codes): `--no-letters`.

    python scripts/word_crops_from_annotations.py ../shared/data/e2e/sroie_dev data/sroie_numbers --no-letters
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ocrpipe.detectors.db.words import split_line
from ocrpipe.geometry import order_corners, rectify
from ocrpipe.io import load_image
from ocrpipe.metrics.det import load_annotations


def padded(quad: np.ndarray, fraction: float) -> np.ndarray:
    """The quad grown along its reading direction by `fraction` of its height on each side (detector-like)."""
    quad = order_corners(quad)
    along = quad[1] - quad[0]
    along /= max(np.linalg.norm(along), 1e-6)
    grow = along * fraction * np.linalg.norm(quad[3] - quad[0])
    return np.array([quad[0] - grow, quad[1] + grow, quad[2] + grow, quad[3] - grow])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("out_dir")
    parser.add_argument("--split", choices=["all", "train", "val"], default="train")
    parser.add_argument("--no-letters", action="store_true", help="keep only words without letters")
    args = parser.parse_args()
    out = Path(args.out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for stem, annotation in load_annotations(args.dataset, args.split).items():
        image = load_image(annotation.image)
        for i, instance in enumerate(annotation.instances):
            words = instance.text.split()
            if instance.ignore or not words:
                continue
            pieces = split_line(image, np.asarray(instance.polygon, dtype=np.float64), instance.text)
            if not pieces or len(pieces) != len(words):
                continue
            for j, (piece, word) in enumerate(zip(pieces, words)):
                crop, _ = rectify(image, padded(piece, 0.15))
                if min(crop.shape[:2]) < 4 or len(word) > 25 or (args.no_letters and any(c.isalpha() for c in word)):
                    continue
                name = f"images/{stem}_{i:03d}_{j:02d}.png"
                cv2.imwrite(str(out / name), crop[:, :, ::-1])
                rows.append(f"{name}\t{word}\n")
    (out / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    print(f"{len(rows)} word crops in {out}")


if __name__ == "__main__":
    main()
