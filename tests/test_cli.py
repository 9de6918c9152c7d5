"""End-to-end tests of the `ocrpipe` command on real images, with the shipped models (no fakes)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch

from tests.test_io import png_bytes
from tests.validators import check_hocr_check, check_hocr_spec, check_json

XHTML = "{http://www.w3.org/1999/xhtml}"


def ocrpipe(*args: str, cwd: Path | None = None, stdin: str | None = None, timeout: int = 300):
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "ocrpipe", *args], capture_output=True, text=True,
                          cwd=cwd, input=stdin, timeout=timeout, env=env)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ocrpipe: error:")]


@pytest.fixture(scope="module")
def demo(shared) -> Path:
    return shared / "data" / "e2e" / "unlabeled_demo" / "images"


# --- fast answers, usage errors ---------------------------------------------------------------------------------
def test_help_does_not_load_torch():
    code = ("import sys\nfrom ocrpipe.cli.main import cli\n"
            "try:\n    cli.main(['run', '--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules and 'cv2' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--det-thresh" in result.stdout


@pytest.mark.parametrize("args", [
    ["run"],  # no inputs
    ["run", "x.png", "-f", "docx"],
    ["run", "x.png", "--det-thresh", "2"],
    ["run", "x.png", "--det-side", "10"],
    ["run", "x.png", "--on-error", "maybe"],
    ["eval", "rec"],
    ["nosuchcommand"],
])
def test_usage_errors_exit_2(args):
    result = ocrpipe(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_empty_folder_is_a_usage_error(tmp_path):
    result = ocrpipe("run", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert error_lines(result.stderr) == [f"ocrpipe: error: no image files found in {tmp_path}"]


def test_missing_weights_file_is_fatal(tmp_path, demo):
    result = ocrpipe("run", str(demo), "--rec-model", str(tmp_path / "nope.pt"), "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "nope.pt" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# --- the main path ----------------------------------------------------------------------------------------------
def test_run_on_demo_folder_writes_valid_outputs(tmp_path, demo):
    out = tmp_path / "out"
    result = ocrpipe("run", str(demo), "-o", str(out), "-f", "json,hocr,txt")
    assert result.returncode == 0, result.stderr
    images = sorted(p for p in demo.iterdir() if p.is_file())
    for image in images:
        stem = out / image.stem
        document = json.loads(stem.with_suffix(".json").read_text())
        check_json(document)
        assert document["source"]["path"] == str(image)
        assert document["models"]["recognizer"]["name"] == "clip4str-tiny"
        hocr = stem.with_suffix(".hocr")
        check_hocr_spec(hocr)
        check_hocr_check(hocr, overlaps=True)  # real photos: tilted lines' boxes overlap
        root = ET.parse(hocr).getroot()
        page = root.find(f".//{XHTML}div[@class='ocr_page']")
        assert page is not None
        for word in page.iter(f"{XHTML}span"):  # every word sits in line > par > carea > page
            if word.get("class") == "ocrx_word":
                assert word.text
        text = stem.with_suffix(".txt").read_text()
        assert text == (document["text"] + "\n" if document["text"] else "")
    assert sum(len(json.loads((out / f"{i.stem}.json").read_text())["blocks"]) for i in images) > 0
    assert "file(s) ok, 0 failed" in result.stderr


def test_bad_inputs_are_reported_and_the_batch_goes_on(tmp_path, demo):
    folder = tmp_path / "in"
    folder.mkdir()
    good = sorted(p for p in demo.iterdir() if p.suffix in (".jpg", ".jpeg"))[:2]
    for image in good:
        shutil.copy(image, folder / image.name)
    (folder / "truncated.jpg").write_bytes(good[0].read_bytes()[: good[0].stat().st_size // 3])
    (folder / "notes.png").write_text("this is not an image\n")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "zero.png").write_bytes(png_bytes(0, 0, 8, 0))
    out = tmp_path / "out"
    result = ocrpipe("run", str(folder), "-o", str(out))
    assert result.returncode == 3, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 4, result.stderr
    for bad in ("truncated.jpg", "notes.png", "empty.jpg", "zero.png"):
        assert sum(bad in line for line in lines) == 1
        assert not list(out.glob(Path(bad).stem + ".*"))
    for image in good:
        check_json(json.loads((out / (image.stem + ".json")).read_text()))
        check_hocr_check(out / (image.stem + ".hocr"), overlaps=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{i.stem}{s}" for i in good
                                                          for s in (".json", ".hocr", ".txt"))
    assert "Traceback" not in result.stderr


def test_on_error_fail_stops(tmp_path, demo):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_bad.png").write_text("nope")
    shutil.copy(next(demo.glob("*.jpg")), folder / "b_good.jpg")
    result = ocrpipe("run", str(folder), "-o", str(tmp_path / "out"), "--on-error", "fail")
    assert result.returncode == 1
    assert not (tmp_path / "out" / "b_good.json").exists()


def test_stdout_json_lines_and_files_from_stdin(tmp_path, demo):
    images = sorted(str(p) for p in demo.iterdir())[:2]
    result = ocrpipe("run", "--files-from", "-", "--stdout", "-q", stdin="\n".join(images) + "\n")
    assert result.returncode == 0, result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["source"]["path"] for d in documents] == images
    for document in documents:
        check_json(document)
    assert result.stderr == ""


def test_skip_existing(tmp_path, demo):
    image = next(demo.glob("*.jpg"))
    out = tmp_path / "out"
    assert ocrpipe("run", str(image), "-o", str(out), "-f", "txt").returncode == 0
    written = out / (image.stem + ".txt")
    written.write_text("kept")
    result = ocrpipe("run", str(image), "-o", str(out), "-f", "txt", "--skip-existing", "--rec-model", "missing.pt")
    assert result.returncode == 0  # no work at all: not even the (here missing) model is loaded
    assert written.read_text() == "kept"


@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_stop_without_partial_files(tmp_path, demo, stop, code):
    folder = tmp_path / "in"
    folder.mkdir()
    source = demo / "mmocr__demo_densetext_det.jpg"
    for i in range(40):
        shutil.copy(source, folder / f"{i:02d}.jpg")
    out = tmp_path / "out"
    # One torch thread and a small detector input keep each step short on a busy machine: Ctrl-C takes effect
    # when the running torch operation returns.
    # A shell starts background jobs with SIGINT ignored, and children inherit that: give ocrpipe Python's own
    # handling back, as a terminal's Ctrl-C would find it, however the tests themselves were started.
    process = subprocess.Popen([sys.executable, "-m", "ocrpipe", "run", str(folder), "-o", str(out),
                                "--det-side", "960"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline and not (out.exists() and any(out.glob("*.json"))):
        time.sleep(0.2)
    assert process.poll() is None, "finished all 40 images before it could be interrupted"
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=300)  # the running torch operation finishes first, on a busy machine too
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    names = [p.name for p in out.iterdir()]
    assert all(not n.startswith(".") and not n.endswith(".tmp") for n in names), names
    for path in out.glob("*.json"):
        check_json(json.loads(path.read_text()))


# --- recognition only -------------------------------------------------------------------------------------------
def test_read_reproduces_the_reference_model(shared):
    vectors = shared / "reference" / "clip4str_vectors"
    expected = torch.load(vectors / "outputs.pt", weights_only=True)["inference"]
    files = torch.load(vectors / "inputs.pt", weights_only=True)["files"]
    crops = [str(shared / "data" / "rec" / "mmocr_toy" / f) for f in files]
    result = ocrpipe("read", "--rec-model", str(vectors / "state_dict.pt"), *crops)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [r[0] for r in rows] == crops
    assert [r[1] for r in rows] == expected["preds"]
    for row, conf in zip(rows, expected["word_conf"].tolist()):
        assert abs(float(row[2]) - conf) < 1e-3


def test_read_with_the_shipped_model_and_a_bad_crop(shared, tmp_path):
    crops = shared / "data" / "rec" / "mmocr_toy" / "images"
    bad = tmp_path / "bad.jpg"
    bad.write_text("no")
    result = ocrpipe("read", "--format", "json", str(crops), str(bad))
    assert result.returncode == 3
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(list(crops.iterdir()))
    assert all(0.0 <= r["confidence"] <= 1.0 and len(r["char_confidences"]) == len(r["text"]) for r in rows)
    assert error_lines(result.stderr) == [f"ocrpipe: error: {bad}: not an image (cannot decode)"]


def test_read_precision_option(shared):
    crops = shared / "data" / "rec" / "mmocr_toy" / "images"
    result = ocrpipe("read", "--precision", "bf16", "--decode", "nar", str(crops))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(list(crops.iterdir()))
    result = ocrpipe("read", "--precision", "fp16", "--device", "cpu", str(crops))
    assert result.returncode == 2 and "--precision fp16 needs a CUDA device" in result.stderr
    assert result.stdout == ""


def test_eval_rec_reports_accuracy(shared, tmp_path):
    preds = tmp_path / "preds.tsv"
    result = ocrpipe("eval", "rec", str(shared / "data" / "rec" / "mmocr_toy"), "--json",
                     "--save-preds", str(preds))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["count"] == 10 and 0.0 <= report["accuracy_36"] <= 1.0
    assert len(preds.read_text().splitlines()) == 10


# --- training ---------------------------------------------------------------------------------------------------
@pytest.fixture
def one_font_dir(tmp_path) -> Path:
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font.is_file():
        pytest.skip("DejaVuSans.ttf not installed")
    (tmp_path / "fonts").mkdir()
    shutil.copy(font, tmp_path / "fonts")
    return tmp_path / "fonts"


def test_train_rec_cli_writes_loadable_weights_and_resumes(shared, tmp_path, one_font_dir):
    from ocrpipe.recognizer.clip4str.checkpoint import load_model
    from ocrpipe.recognizer.clip4str.config import PRESETS

    toy = shared / "data" / "rec" / "mmocr_toy"
    upper = tmp_path / "upper_toy"  # the same crops with SROIE-style upper-cased labels
    upper.mkdir()
    (upper / "images").symlink_to(toy / "images")
    rows = [line.split("\t") for line in (toy / "labels.tsv").read_text().splitlines()]
    (upper / "labels.tsv").write_text("".join(f"{path}\t{text.upper()}\n" for path, text in rows))
    out = tmp_path / "rec"
    args = ["train", "rec", str(out), "--real", str(toy), "--real-caseless", str(upper), "--font-dir",
            str(one_font_dir), "--batch-size", "4", "--perms", "2", "--ctc-weight", "1", "--val-every", "2",
            "--workers", "0", "--threads", "1"]
    result = ocrpipe(*args, "--steps", "2")
    assert result.returncode == 0, result.stderr
    model = load_model(out / "model.pt")
    assert model.cfg == PRESETS["clip4str-tiny"]
    last = torch.load(out / "last.pt", weights_only=True)
    assert last["step"] == 2 and "ctc_head" in last  # the CTC head trains on, but is not in the model's weights
    assert not any("ctc" in key for key in model.state_dict())
    result = ocrpipe(*args, "--steps", "3", "--resume")
    assert result.returncode == 0, result.stderr
    assert "resumed from" in result.stdout and torch.load(out / "last.pt", weights_only=True)["step"] == 3
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "validation" in r] == [2, 3]
    assert set(records[-1]["validation"]) == {"mmocr_toy", "upper_toy"}


def test_train_rec_time_limit_ends_the_run_and_validates_its_last_step(shared, tmp_path, one_font_dir):
    out = tmp_path / "rec"
    result = ocrpipe("train", "rec", str(out), "--real", str(shared / "data" / "rec" / "mmocr_toy"), "--font-dir",
                     str(one_font_dir), "--batch-size", "4", "--perms", "2", "--workers", "0", "--threads", "1",
                     "--steps", "1000000", "--time-limit", "2")
    assert result.returncode == 0, result.stderr
    step = torch.load(out / "last.pt", weights_only=True)["step"]
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert 0 < step < 1000000 and [r["step"] for r in records if "validation" in r] == [step]


def test_train_rec_can_widen_the_input_of_an_existing_model(shared, tmp_path, one_font_dir):
    from ocrpipe.models import resolve
    from ocrpipe.recognizer.clip4str.checkpoint import load_model
    from ocrpipe.recognizer.clip4str.config import PRESETS

    out = tmp_path / "rec"
    args = ["train", "rec", str(out), "--real", str(shared / "data" / "rec" / "mmocr_toy"), "--font-dir",
            str(one_font_dir), "--batch-size", "4", "--perms", "2", "--workers", "0", "--threads", "1", "--steps", "1",
            "--image-width", "256"]
    result = ocrpipe(*args)
    assert result.returncode == 2 and "--init" in result.stderr
    result = ocrpipe(*args, "--init", str(resolve("clip4str-tiny", "recognizer")[1]))
    assert result.returncode == 0, result.stderr
    assert load_model(out / "model.pt").cfg == PRESETS["clip4str-tiny"].with_(image_size=(32, 256))


def test_train_rec_ema_saves_the_averaged_weights(shared, tmp_path, one_font_dir):
    from ocrpipe.models import resolve
    from ocrpipe.recognizer.clip4str.checkpoint import load_model

    out = tmp_path / "rec"
    result = ocrpipe("train", "rec", str(out), "--real", str(shared / "data" / "rec" / "mmocr_toy"), "--font-dir",
                     str(one_font_dir), "--batch-size", "4", "--perms", "2", "--workers", "0", "--threads", "1",
                     "--steps", "3", "--val-every", "3", "--lr", "1e-3", "--ema", "0.5",
                     "--init", str(resolve("clip4str-tiny", "recognizer")[1]))
    assert result.returncode == 0, result.stderr
    last = torch.load(out / "last.pt", weights_only=True)
    assert int(last["ema"]["n_averaged"]) == 3
    saved = load_model(out / "model.pt").state_dict()
    name = "visual_decoder.head.weight" if "visual_decoder.head.weight" in saved else next(
        k for k, v in saved.items() if v.ndim == 2 and "decoder" in k)
    averaged, raw = last["ema"][f"module.{name}"], last["model"][name]
    assert not torch.equal(averaged, raw)  # three steps at a high rate move the raw weights away from their average
    assert torch.allclose(saved[name].float(), averaged.float(), atol=1e-3)  # model.pt is fp16
    assert all(torch.isfinite(tensor.float()).all() for tensor in saved.values())  # -inf attention masks are copied
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[-1]["validation"]["mmocr_toy"]["1-ned"] > 0.2  # the averaged model still reads (v9: 0.44)


def test_train_det_cli_writes_weights(shared, tmp_path, one_font_dir):
    out = tmp_path / "det"
    args = ["train", "det", str(out), "--ann", str(shared / "data" / "e2e" / "ic15_toy"), "--font-dir",
            str(one_font_dir), "--steps", "2", "--batch-size", "2", "--threads", "1"]
    result = ocrpipe(*args, "--crop-size", "100")
    assert result.returncode == 2 and "multiple of 32" in result.stderr
    result = ocrpipe(*args, "--crop-size", "128")
    assert result.returncode == 0, result.stderr
    assert (out / "db.pt").is_file() and (out / "checkpoint.pt").is_file()


def test_eval_e2e_scores_several_min_conf_thresholds_from_one_pass(shared, tmp_path):
    ann = tmp_path / "set" / "ann"
    ann.mkdir(parents=True)
    (tmp_path / "set" / "images").symlink_to(shared / "data" / "e2e" / "ic15_toy" / "images")
    for stem in ("img_1", "img_2"):
        (ann / f"{stem}.json").write_text((shared / "data" / "e2e" / "ic15_toy" / "ann" / f"{stem}.json").read_text())

    def rows(*thresholds: str) -> list[dict]:
        args = [arg for t in thresholds for arg in ("--min-conf", t)]
        result = ocrpipe("eval", "e2e", str(tmp_path / "set"), *args, "--json", "--device", "cpu")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    every, strict = rows("0.5", "0")
    assert (every["min_conf"], strict["min_conf"]) == (0.0, 0.5)
    assert every["det"]["predicted"] > 0 and every["det"]["expected"] == strict["det"]["expected"] > 0
    assert strict["det"]["predicted"] <= every["det"]["predicted"]
    alone, = rows("0.5")  # the same numbers as a run with that threshold only
    scores = ("det", "e2e", "bag_of_words")
    assert [alone[k] for k in scores] == [strict[k] for k in scores]


# --- write failures ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, expected_exit, reported", [(errno.ENOSPC, 4, 1), (errno.EIO, 3, 2)])
def test_write_failures_leave_nothing_and_a_full_disk_stops_the_batch(tmp_path, demo, monkeypatch, capsys,
                                                                      code, expected_exit, reported):
    # Injected at the last step of every atomic write (fsync), so the temporary file exists when it fails.
    import ocrpipe.atomic
    from ocrpipe.cli.main import cli

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.jpeg", "b.jpeg"):
        shutil.copy(demo / "CLIP4STR__image_1576.jpeg", folder / name)

    def failing_fsync(descriptor: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(ocrpipe.atomic.os, "fsync", failing_fsync)
    out = tmp_path / "out"
    status = cli.main(["run", str(folder), "-o", str(out), "-q"], standalone_mode=False)
    assert status == expected_exit
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == reported and all(os.strerror(code) in line for line in lines)
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))  # no output, no temporary file


def test_an_output_folder_that_is_a_file_is_a_usage_error(tmp_path, demo):
    out = tmp_path / "out"
    out.write_text("not a folder\n")
    result = ocrpipe("run", str(demo / "CLIP4STR__image_1576.jpeg"), "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert "is a file" in result.stderr and "Traceback" not in result.stderr
    assert out.read_text() == "not a folder\n"


# --- inputs that change under a running batch, and two batches into one folder -----------------------------------
def test_inputs_deleted_or_replaced_while_the_batch_runs(tmp_path, demo, monkeypatch, capsys):
    from ocrpipe import io
    from ocrpipe.cli.main import cli

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.jpeg", "b.jpeg", "c.jpeg", "d.jpeg"):
        shutil.copy(demo / "CLIP4STR__image_1576.jpeg", folder / name)
    listed_then_read = io.iter_page_images

    def reading(path, *args, **kwargs):  # the folder was listed; now, as the first file is read, the others change
        if Path(path).name == "a.jpeg":
            (folder / "b.jpeg").unlink()
            (folder / "c.jpeg").write_text("<html>replaced by an error page</html>\n")
            shutil.copy(demo / "mmocr__demo_text_ocr.jpg", folder / "d.jpeg")
        return listed_then_read(path, *args, **kwargs)

    monkeypatch.setattr(io, "iter_page_images", reading)
    out = tmp_path / "out"
    status = cli.main(["run", str(folder), "-o", str(out), "-f", "json", "-q"], standalone_mode=False)
    assert status == 3
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 2 and "b.jpeg" in lines[0] and "c.jpeg" in lines[1]
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["a.json", "d.json"]


def test_two_batches_writing_into_one_folder_leave_whole_outputs(tmp_path, demo):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("CLIP4STR__image_1576.jpeg", "mmocr__demo_text_ocr.jpg"):
        shutil.copy(demo / name, folder / name)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ocrpipe", "run", str(folder), "-o", str(out), "-f", "json,hocr,txt", "-q"]
    batches = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    for batch in batches:
        assert batch.wait(timeout=600) == 0, batch.stderr.read()
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) == 3 * 2
    assert not [p for p in written if p.name.startswith(".")]  # no temporary file left by either
    for path in written:
        if path.suffix == ".json":
            check_json(json.loads(path.read_text()))
        elif path.suffix == ".hocr":
            check_hocr_spec(path)
