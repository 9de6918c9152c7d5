"""The external hOCR validators (hocr-spec, hocr-check) and the JSON schema, shared by the tests."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import ocrpipe

BIN = Path(sys.executable).parent
SCHEMA = json.loads((Path(ocrpipe.__file__).parent / "schema" / "ocrpipe-1.schema.json").read_text())


def validator(name: str) -> str:
    path = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return path


def check_hocr_spec(path: Path) -> None:
    result = subprocess.run([validator("hocr-spec"), "--profile", "standard", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Document is valid" in result.stdout + result.stderr


def check_hocr_check(path: Path, overlaps: bool = False) -> None:
    """hocr-check finds no fault; `overlaps=True` skips its overlap test, which fails by nature on tilted text (the
    axis-aligned boxes of neighbouring tilted lines overlap; ocrpipe does not merge lines to hide it)."""
    command = [validator("hocr-check"), *(["--nooverlap"] if overlaps else []), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    report = result.stdout + result.stderr
    assert result.returncode == 0 and "ok 1" in report  # it ran its checks ...
    assert "not ok" not in report, report  # ... and none failed


def check_json(document: dict) -> None:
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
