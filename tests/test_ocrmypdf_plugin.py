"""ocrpipe as OCRmyPDF's OCR engine (`ocrmypdf --plugin ocrpipe.ocrmypdf_plugin`), on a 3-page PDF of real pages."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("ocrmypdf")
pdfium = pytest.importorskip("pypdfium2")

PAGES = ("funsd_train/images/0000971160.png", "funsd_train/images/0000989556.png", "sroie_dev/images/000.jpg")


def ocrmypdf(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocrmypdf", "--plugin", "ocrpipe.ocrmypdf_plugin", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def words_of(annotation: Path) -> list[tuple[str, list[float], list[float]]]:
    """(text, xs, ys) of each annotated instance that is not don't-care."""
    data = json.loads(annotation.read_text())
    return [(item["text"], item["polygon"][0::2], item["polygon"][1::2]) for item in data["instances"]
            if not item.get("ignore")]


def normal(word: str) -> str:
    return re.sub(r"[^0-9a-z]", "", word.lower())


def test_ocrmypdf_makes_a_searchable_pdf_with_ocrpipe_reading(shared, tmp_path):
    images = [shared / "data" / "e2e" / page for page in PAGES]
    pages = [Image.open(path).convert("RGB") for path in images]
    pages[0].save(tmp_path / "in.pdf", save_all=True, append_images=pages[1:], resolution=150.0)

    result = ocrmypdf("-j", "1", "in.pdf", "out.pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    document = pdfium.PdfDocument(tmp_path / "out.pdf")
    assert len(document) == 3
    for page, image, path in zip(document, pages, images):
        truth = words_of(path.parent.parent / "ann" / f"{path.stem}.json")
        text_page = page.get_textpage()
        words = [normal(word) for word in text_page.get_text_range().split() if normal(word)]
        vocabulary = {normal(word) for text, _, _ in truth for word in text.split()}
        assert len(words) >= 30, path.name
        assert sum(word in vocabulary for word in words) / len(words) >= 0.5, path.name  # the printed words

        # ... and where they are printed: the text's boxes lie on annotated words (PDF points, origin bottom left)
        width_pt, height_pt = page.get_size()
        boxes = [text_page.get_rect(index) for index in range(text_page.count_rects())]
        on_a_word = 0
        for left, bottom, right, top in boxes:
            x = (left + right) / 2 * image.width / width_pt
            y = (height_pt - (bottom + top) / 2) * image.height / height_pt
            on_a_word += any(min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys) for _, xs, ys in truth)
        assert on_a_word / len(boxes) >= 0.8, path.name


def test_missing_weights_stop_ocrmypdf_with_one_line(tmp_path):
    Image.new("RGB", (200, 100), "white").save(tmp_path / "in.pdf", resolution=72.0)
    result = ocrmypdf("--ocrpipe-rec-model", "missing.pt", "in.pdf", "out.pdf", cwd=tmp_path)
    assert result.returncode != 0
    assert "missing.pt" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.pdf").exists()


def test_deskew_angle_turns_a_tilted_page_back(shared, tmp_path):
    from ocrpipe.ocrmypdf_plugin import OcrpipeEngine

    page = Image.open(shared / "data" / "e2e" / PAGES[0]).convert("RGB")
    angles = []
    for turn in (0, 7):
        path = tmp_path / f"turned{turn}.png"
        page.rotate(turn, resample=Image.Resampling.BICUBIC, fillcolor="white").save(path)  # counter-clockwise
        angles.append(OcrpipeEngine.get_deskew(path, None))
    assert abs(angles[0]) < 2 and angles[1] - angles[0] == pytest.approx(-7, abs=1.5)
