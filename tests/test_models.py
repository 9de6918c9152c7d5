"""The model registry: shipped weights are checked against SHA256SUMS before they are used."""
from __future__ import annotations

import shutil

import pytest

import ocrpipe.models as models
from ocrpipe.errors import ModelError


def test_every_shipped_weights_file_is_listed_with_its_sha256():
    sums = models.read_checksums(models.SHIPPED_DIR / models.CHECKSUMS)
    shipped = [spec for spec in models.REGISTRY.values() if spec.shipped]
    assert shipped and sorted(sums) == sorted({spec.filename for spec in shipped})  # two names share db-ppocr.pt
    for spec in shipped:
        assert models.checked_sha256(spec.name, models.spec_path(spec)) == sums[spec.filename]


@pytest.mark.parametrize("damage", ["truncated", "replaced", "unlisted"])
def test_a_damaged_or_replaced_shipped_file_is_refused(tmp_path, monkeypatch, damage):
    shutil.copy(models.SHIPPED_DIR / models.CHECKSUMS, tmp_path / models.CHECKSUMS)
    weights = tmp_path / "db-tiny.pt"
    data = (models.SHIPPED_DIR / "db-tiny.pt").read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncated" else
                        (models.SHIPPED_DIR / "db-ppocr.pt").read_bytes() if damage == "replaced" else data)
    if damage == "unlisted":
        (tmp_path / models.CHECKSUMS).write_text("")
    monkeypatch.setattr(models, "SHIPPED_DIR", tmp_path)
    with pytest.raises(ModelError, match="db-tiny: weights file .* is damaged or was replaced .*reinstall"):
        models.load_detector("db-tiny")


def test_the_default_detector_checks_its_line_finder_too(tmp_path, monkeypatch):
    for name in ("db-ppocr.pt", "ppocr-v4-lines.pt", models.CHECKSUMS):
        shutil.copy(models.SHIPPED_DIR / name, tmp_path / name)
    data = (tmp_path / "ppocr-v4-lines.pt").read_bytes()
    (tmp_path / "ppocr-v4-lines.pt").write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(models, "SHIPPED_DIR", tmp_path)
    models.load_detector("db-ppocr-words")  # the word detector alone does not need it
    with pytest.raises(ModelError, match="ppocr-v4-lines: weights file .* is damaged or was replaced"):
        models.load_detector("db-ppocr")


def test_weights_given_by_path_are_not_checked(tmp_path):
    copy = tmp_path / "mine.pt"
    shutil.copy(models.SHIPPED_DIR / "db-tiny.pt", copy)
    _, info = models.load_detector(str(copy))
    assert info.name == "mine.pt" and info.sha256 == models.file_sha256(copy)
