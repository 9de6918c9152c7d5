import json

import cv2
import numpy as np
import pytest
import torch

from ocrpipe.detectors.db.data import AugmentConfig
from ocrpipe.detectors.db.model import DBConfig, DBNet
from ocrpipe.detectors.db.predictor import DBDetector
from ocrpipe.detectors.db.train import train_db
from ocrpipe.metrics.det import det_counts, load_annotations

WORDS = [["ocr", "pipe"], ["db", "net", "text"], ["word", "box"]]


def write_tiny_dataset(root):
    """Three 128x128 images with 2-3 printed words each, in the ann/*.json format."""
    (root / "images").mkdir(parents=True)
    (root / "ann").mkdir()
    for n, words in enumerate(WORDS):
        image = np.full((128, 128, 3), 235, np.uint8)
        instances = []
        for k, word in enumerate(words):
            x, y = 8 + 22 * ((n + k) % 3), 24 + 36 * k
            (w, h), base = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
            cv2.putText(image, word, (x, y + h), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (20, 20, 60), 2, cv2.LINE_AA)
            x0, y0, x1, y1 = x - 2, y - 2, x + w + 2, y + h + base
            instances.append({"polygon": [x0, y0, x1, y0, x1, y1, x0, y1], "text": word, "ignore": False})
        cv2.imwrite(str(root / "images" / f"{n}.png"), image[:, :, ::-1])
        (root / "ann" / f"{n}.json").write_text(json.dumps(
            {"image": f"images/{n}.png", "width": 128, "height": 128, "instances": instances}))


def read_log(path):
    rows = path.read_text().splitlines()[1:]
    return [float(r.split("\t")[1]) for r in rows]


def test_short_cpu_training_overfits_and_finds_the_words(tmp_path):
    torch.set_num_threads(1)
    data = tmp_path / "data"
    write_tiny_dataset(data)
    out = tmp_path / "run"
    settings = dict(ann_dirs=[data], ann_split="all", config=DBConfig(widths=(8, 16, 32, 64), neck_channels=32),
                    batch_size=3, augment=AugmentConfig(crop_size=128, scale_range=(1.0, 1.0), max_rotation=0,
                                                        colour_jitter=0.0),
                    lr=5e-3, warmup=10, device="cpu", log_every=10, checkpoint_every=100, log=lambda _: None)
    weights = train_db(out, steps=100, **settings)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 100
    # Resuming continues from the checkpoint's step instead of starting over.
    weights = train_db(out, steps=220, resume=True, **settings)
    losses = read_log(out / "log.tsv")
    assert len(losses) == 22
    assert np.mean(losses[-3:]) < 0.4 * np.mean(losses[:2])

    detector = DBDetector.from_file(weights)
    assert detector.meta["trained_steps"] == 220
    anns = load_annotations(data)
    images = [cv2.imread(str(a.image))[:, :, ::-1].copy() for a in anns.values()]
    found = detector.detect(images)
    counts = [det_counts([r.polygon for r in regions], ann) for regions, ann in zip(found, anns.values())]
    assert sum(c.matched for c in counts) >= 6  # of 7 words
    assert sum(c.predicted for c in counts) <= 8


def test_ctrl_c_saves_a_checkpoint_and_weights(tmp_path):
    torch.set_num_threads(1)
    data = tmp_path / "data"
    write_tiny_dataset(data)

    def interrupt(line):
        if line.startswith("step 4/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_db(tmp_path / "run", ann_dirs=[data], config=DBConfig(widths=(8, 16, 32, 64), neck_channels=32),
                 steps=50, batch_size=2, augment=AugmentConfig(crop_size=96), device="cpu", log_every=2,
                 log=interrupt)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 4
    assert DBDetector.from_file(tmp_path / "run" / "db.pt").meta["trained_steps"] == 4


def test_augmented_polygons_follow_the_image():
    from ocrpipe.detectors.db.data import DetSample, augment

    image = np.full((300, 400, 3), 230, np.uint8)
    boxes = [np.array([[50, 60], [250, 60], [250, 100], [50, 100]], float),
             np.array([[100, 180], [300, 180], [300, 230], [100, 230]], float)]
    for x0, y0, x1, y1 in [(50, 60, 250, 100), (100, 180, 300, 230)]:
        image[y0:y1, x0:x1] = 20
    rng = np.random.default_rng(1)
    config = AugmentConfig(crop_size=256, scale_range=(0.6, 1.5), max_rotation=10)
    for _ in range(10):
        out = augment(DetSample(image, boxes, [False, True]), rng, config)
        assert out.image.shape == (256, 256, 3)
        for polygon in out.polygons:
            inside = np.zeros((256, 256), np.uint8)
            cv2.fillPoly(inside, [np.round(polygon).astype(np.int32)], 1)
            core = cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)
            if core.any():
                assert out.image[core].mean() < out.image[~inside.astype(bool)].mean() - 40
        assert len(out.ignore) == len(out.polygons)


def test_a_time_limit_ends_the_run_with_the_schedule_annealed(tmp_path):
    torch.set_num_threads(1)
    data = tmp_path / "data"
    write_tiny_dataset(data)
    out = tmp_path / "run"
    weights = train_db(out, ann_dirs=[data], ann_split="all", config=DBConfig(widths=(8, 16, 32, 64), neck_channels=32),
                       batch_size=2, augment=AugmentConfig(crop_size=64), steps=10**6, time_limit=3.0, warmup=1,
                       device="cpu", log_every=1, log=lambda _: None)
    trained = DBDetector.from_file(weights).meta["trained_steps"]
    rows = (out / "log.tsv").read_text().splitlines()[1:]
    assert 0 < trained < 10**6 and len(rows) == trained
    assert float(rows[-1].split("\t")[5]) < 0.05 * 1e-3  # the last step ran at (nearly) zero learning rate


def test_a_frozen_backbone_keeps_its_weights_while_the_rest_learns(tmp_path):
    torch.set_num_threads(1)
    data = tmp_path / "data"
    write_tiny_dataset(data)
    config = DBConfig(widths=(8, 16, 32, 64), neck_channels=32)
    weights = train_db(tmp_path / "run", ann_dirs=[data], ann_split="all", config=config, batch_size=2,
                       augment=AugmentConfig(crop_size=128), steps=3, lr=1e-2, warmup=1, backbone_lr_scale=0.0,
                       device="cpu", amp=False, log=lambda _: None)
    torch.manual_seed(0)  # train_db's default seed: the same fresh weights it started from
    start = DBNet(config).state_dict()
    trained = DBDetector.from_file(weights).model.state_dict()
    changed = {name for name, value in trained.items()
               if value.is_floating_point() and not torch.allclose(value.float(), start[name].float(), atol=1e-3)}
    assert changed and not any(name.startswith("backbone.") and "running" not in name for name in changed)
    assert any(name.startswith("neck.") for name in changed)


@pytest.mark.parametrize("native_bf16, expected", [(True, torch.bfloat16), (False, None)])
def test_cpu_training_uses_bf16_only_where_the_cpu_has_it(monkeypatch, native_bf16, expected):
    # Emulated bf16 on AVX2-only CPUs made a training step many times slower than float32.
    import ocrpipe.models

    monkeypatch.setattr(ocrpipe.models, "cpu_has_native_bf16", lambda: native_bf16)
    assert ocrpipe.models.training_dtype(torch.device("cpu")) is expected
