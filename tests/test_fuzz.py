"""Hostile input: mutated real files must give a decoded image or the project's own one-line errors, never another
exception (issue #25). Seeded, so a failure reproduces; the budget is small enough for CI."""
from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrpipe.errors import InputError, ModelError
from ocrpipe.io import decode_bytes
from ocrpipe.models import load_detector, load_recognizer

MUTATIONS_PER_FILE = 60


def mutated(data: bytes, rng: random.Random) -> bytes:
    """One of: flipped bytes, a cut, a duplicated or deleted stretch, or junk spliced in."""
    data = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:
        data = data[: rng.randrange(1, len(data))]
    elif kind == 2:
        start = rng.randrange(len(data))
        stretch = data[start:start + rng.randint(1, 512)]
        data[start:start] = stretch if rng.random() < 0.5 else b""
        if not stretch:
            del data[start:start + 64]
    else:
        position = rng.randrange(len(data))
        data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def seeds(shared) -> dict[str, bytes]:
    """Real files of every kind the decoder meets: JPEG photos, a PNG with alpha, a 16-bit TIFF, a PDF."""
    photo = next((shared / "data" / "e2e" / "ic15_toy" / "images").glob("*.jpg")).read_bytes()
    rgb = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))[:120, :160]
    files = {"photo.jpg": photo}
    for name, image, options in (("alpha.png", Image.fromarray(rgb).convert("RGBA"), {}),
                                 ("deep.tif", Image.fromarray((rgb[:, :, 0].astype(np.uint16) * 257)), {}),
                                 ("page.pdf", Image.fromarray(rgb), {"resolution": 72.0})):
        buffer = io.BytesIO()
        image.save(buffer, format={"png": "PNG", "tif": "TIFF", "pdf": "PDF"}[name[-3:]], **options)
        files[name] = buffer.getvalue()
    return files


def test_mutated_images_and_pdfs_decode_or_fail_with_an_input_error(shared):
    rng = random.Random(1234)
    for name, data in seeds(shared).items():
        assert decode_bytes(data, name)  # the unmutated file decodes
        for trial in range(MUTATIONS_PER_FILE):
            sample = mutated(data, rng)
            try:
                pages = decode_bytes(sample, name, max_pixels=4_000_000)
            except InputError as error:
                assert "\n" not in str(error) and str(error).startswith(name)
            except Exception as error:  # noqa: BLE001 - the point of the test
                pytest.fail(f"{name}, mutation {trial}: {type(error).__name__}: {error}")
            else:
                assert all(page.dtype == np.uint8 and page.ndim == 3 and page.shape[2] == 3 for page in pages)


@pytest.mark.parametrize("loader, shipped", [(load_detector, "db-tiny.pt"), (load_recognizer, "clip4str-tiny.pt")])
def test_mutated_weights_files_give_a_model_error(tmp_path, loader, shipped):
    from ocrpipe.models import SHIPPED_DIR

    data = (SHIPPED_DIR / shipped).read_bytes()
    rng = random.Random(99)
    for trial in range(6):
        path = tmp_path / f"broken{trial}.pt"
        path.write_bytes(mutated(data, rng) if trial else b"not a checkpoint at all")
        try:
            loader(str(path))
        except ModelError as error:
            assert "\n" not in str(error)
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"{shipped}, mutation {trial}: {type(error).__name__}: {error}")


CORPUS = Path(__file__).parent / "fuzz_corpus"


@pytest.mark.parametrize("path", sorted((CORPUS / "decode").glob("*")), ids=lambda p: p.name)
def test_inputs_the_fuzzer_crashed_on_now_decode_or_fail_with_an_input_error(path):
    """Every input that once raised something else (`benchmarks/fuzz.py decode` keeps them) stays fixed."""
    try:
        pages = decode_bytes(path.read_bytes(), path.name, max_pixels=4_000_000)
    except InputError as error:
        assert "\n" not in str(error) and str(error).startswith(path.name)
    else:
        assert all(page.dtype == np.uint8 and page.ndim == 3 and page.shape[2] == 3 for page in pages)
