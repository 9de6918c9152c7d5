"""The built wheel: one top-level package (`ocrpipe`, with `ocrpipe.detectors`, `ocrpipe.recognizer`, `ocrpipe.cli`
inside it), the shipped weights and their checksums in it, and an install of it that reads the demo image."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources (setuptools leaves a build/ folder where it builds, which would go stale)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("ocrpipe", "detectors", "recognizer", "cli"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(source)], check=True, capture_output=True, text=True)
    (path,) = out.glob("ocrpipe-*.whl")
    return path


def test_wheel_installs_one_top_level_package_with_the_weights(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"ocrpipe"}
    for package in ("detectors/db", "recognizer/clip4str", "cli"):
        assert f"ocrpipe/{package}/__init__.py" in names
    shipped = {Path(name).name for name in names if name.startswith("ocrpipe/weights/")}
    assert {"db-ppocr.pt", "ppocr-v4-lines.pt", "db-tiny.pt", "clip4str-tiny.pt", "SHA256SUMS", "LICENSE-Apache-2.0.txt", "NOTICE",
            "MODEL_CARD.md"} <= shipped
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert "ocrpipe = ocrpipe.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_reads_the_demo_image(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(target), "OMP_NUM_THREADS": "2"}
    result = subprocess.run([sys.executable, "-m", "ocrpipe", "run", str(ROOT / "docs" / "demo.jpg"), "-o",
                             str(tmp_path / "out"), "-f", "json", "-q"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    found = subprocess.run([sys.executable, "-c", "import ocrpipe.cli; print(ocrpipe.cli.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert Path(found.strip()).is_relative_to(target)  # the installed copy ran, not this checkout
    page = json.loads(next((tmp_path / "out").rglob("demo.json")).read_text())
    words = [word for block in page["blocks"] for line in block["lines"] for word in line["words"]]
    assert len(words) >= 10
