"""`ocrpipe run --engine ray` (a local Ray with 2 workers) writes what the local engine writes, errors and exit code
included, on real images mixed with bad files."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray.data")

IMAGES = ("CLIP4STR__image_1576.jpeg", "mmocr__demo_text_ocr.jpg", "mmocr__demo_text_det.jpg")


def run(folder: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "ocrpipe", "run", folder.name, "-o", str(out), "-f", "json,hocr,txt",
                           "-q", *options], cwd=folder.parent, capture_output=True, text=True, timeout=900, env=env)


def without_timings(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "timings_ms"}


def test_ray_engine_writes_what_the_local_engine_writes(shared, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    demo = shared / "data" / "e2e" / "unlabeled_demo" / "images"
    for name in IMAGES:
        shutil.copy(demo / name, folder / name)
    (folder / "empty.png").write_bytes(b"")
    (folder / "page.jpg").write_text("<html>not an image</html>\n")

    local = run(folder, tmp_path / "local")
    on_ray = run(folder, tmp_path / "ray", "--engine", "ray", "--workers", "2")
    assert local.returncode == on_ray.returncode == 3, on_ray.stderr[-3000:]
    errors = [[line for line in result.stderr.splitlines() if line.startswith("ocrpipe: error:")]
              for result in (local, on_ray)]
    assert errors[0] == errors[1] and len(errors[0]) == 2

    written = sorted(path.relative_to(tmp_path / "local") for path in (tmp_path / "local").rglob("*") if path.is_file())
    assert written == sorted(path.relative_to(tmp_path / "ray") for path in (tmp_path / "ray").rglob("*")
                             if path.is_file())
    assert len(written) == 3 * len(IMAGES)
    for relative in written:
        mine, theirs = (tmp_path / side / relative for side in ("local", "ray"))
        if relative.suffix == ".json":
            assert without_timings(json.loads(mine.read_text())) == without_timings(json.loads(theirs.read_text()))
        else:
            assert mine.read_text() == theirs.read_text(), relative


def test_ray_engine_reports_a_missing_weights_file_in_one_line(tmp_path, shared):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(shared / "data" / "e2e" / "unlabeled_demo" / "images" / IMAGES[0], folder / IMAGES[0])
    result = run(folder, tmp_path / "out", "--engine", "ray", "--rec-model", "missing.pt")
    assert result.returncode == 1
    assert "missing.pt" in result.stderr and "Traceback" not in result.stderr
