import numpy as np
import pytest
import torch

from ocrpipe.detectors.db.loss import DBLoss, balanced_bce
from ocrpipe.detectors.db.model import DBConfig, DBNet, resize_for_inference, resized_size
from ocrpipe.detectors.db.postprocess import PostprocessParams
from ocrpipe.detectors.db.predictor import DBDetector, load_weights, save_weights

SMALL = DBConfig(widths=(8, 16, 32, 64), neck_channels=16, limit_side=160)


def test_eval_returns_only_the_probability_map_and_training_adds_the_rest():
    model = DBNet(SMALL)
    x = torch.randn(2, 3, 64, 96)
    outputs = model.train()(x)
    assert set(outputs) == {"prob", "prob_logits", "thresh", "binary"}
    assert all(v.shape == (2, 1, 64, 96) for v in outputs.values())
    expected = torch.sigmoid(50 * (outputs["prob"] - outputs["thresh"]))
    assert torch.allclose(outputs["binary"], expected)
    with torch.inference_mode():
        assert set(model.eval()(x)) == {"prob"}


def test_resize_keeps_the_aspect_ratio_pads_to_32_and_reports_the_scale():
    image = np.zeros((300, 500, 3), np.uint8)
    resized = resize_for_inference(image, SMALL)  # long side 500 -> 160
    assert resized.size == (160, 96)
    assert resized.scale == pytest.approx((160 / 500, 96 / 300))
    assert resized.tensor.shape == (3, 96, 160)
    small = resize_for_inference(np.zeros((50, 70, 3), np.uint8), SMALL)  # never enlarged in "max" mode
    assert small.size == (70, 50) and small.tensor.shape == (3, 64, 96)
    assert resized_size(500, 300, 400, "min") == (667, 400)
    # with max_upscale, small images are enlarged towards limit_side, by that factor at most
    assert resized_size(500, 300, 800, "max", max_upscale=2.0) == (800, 480)
    assert resized_size(300, 100, 800, "max", max_upscale=2.0) == (600, 200)
    assert resized_size(1000, 600, 800, "max", max_upscale=2.0) == (800, 480)
    with pytest.raises(ValueError):
        DBConfig(max_upscale=0.5)
    with pytest.raises(ValueError):
        resized_size(10, 10, 5, "long")


def test_weights_round_trip_in_fp16(tmp_path):
    model = DBNet(SMALL).eval()
    path = tmp_path / "db.pt"
    save_weights(model, path, {"name": "test"})
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "ocrpipe-db/1" and payload["config"]["widths"] == (8, 16, 32, 64)
    assert all(v.dtype in (torch.float16, torch.int64) for v in payload["state_dict"].values())
    loaded, meta = load_weights(path)
    assert meta == {"name": "test"} and loaded.config == SMALL
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(model(x)["prob"], loaded(x)["prob"], atol=2e-2)


def test_loading_something_else_fails_with_a_clear_message(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    other = tmp_path / "other.pt"
    torch.save({"format": "ocrpipe-db-ckpt/1", "model": {}}, other)
    plain = tmp_path / "plain.pt"
    torch.save([1, 2, 3], plain)
    with pytest.raises(ValueError, match="not an ocrpipe DB weights file"):
        load_weights(text)
    with pytest.raises(ValueError, match="training checkpoint"):
        load_weights(other)
    with pytest.raises(ValueError, match="format is None"):
        load_weights(plain)
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "missing.pt")


def test_detector_maps_results_back_to_each_image(tmp_path):
    model = DBNet(SMALL)
    save_weights(model, tmp_path / "db.pt")
    detector = DBDetector.from_file(tmp_path / "db.pt", params=PostprocessParams(box_thresh=0.0, det_thresh=0.0),
                                    batch_size=2)
    images = [np.full((200, 300, 3), 128, np.uint8), np.full((90, 60, 3), 128, np.uint8),
              np.full((40, 500, 3), 128, np.uint8)]
    maps = detector.prob_maps(images)
    assert [m.shape for m in maps] == [(107, 160), (90, 60), (13, 160)]
    regions = detector.detect(images)
    assert len(regions) == 3
    for found, image in zip(regions, images):  # threshold 0: one region covering the whole image
        assert len(found) == 1
        xs, ys = zip(*found[0].polygon)
        assert max(xs) == image.shape[1] and max(ys) == image.shape[0] and min(xs) == 0


def test_detector_input_side_can_be_overridden(tmp_path):
    save_weights(DBNet(SMALL), tmp_path / "db.pt")
    image = np.full((200, 300, 3), 128, np.uint8)
    default = DBDetector.from_file(tmp_path / "db.pt")
    larger = DBDetector.from_file(tmp_path / "db.pt", limit_side=240)
    assert default.config.limit_side == SMALL.limit_side and larger.config.limit_side == 240
    assert larger.prob_maps([image])[0].shape == (160, 240)
    assert larger.model.config == SMALL  # the weights' own setting is untouched


def test_balanced_bce_mines_hard_negatives_and_handles_crops_without_text():
    gt = torch.zeros(1, 1, 10, 10)
    gt[..., :2, :5] = 1  # 10 positives
    mask = torch.ones_like(gt)
    logits = torch.full_like(gt, -5.0)
    logits[gt == 1] = 5.0
    hard = logits.clone()
    hard[0, 0, 9, 9] = 5.0  # one confident false positive among 90 easy negatives
    assert balanced_bce(hard, gt, mask) > 3 * balanced_bce(logits, gt, mask)
    empty = torch.zeros_like(gt)
    assert balanced_bce(torch.zeros_like(gt), empty, mask) == pytest.approx(np.log(2), rel=1e-4)


def test_db_loss_is_small_for_a_perfect_prediction():
    gt = torch.zeros(1, 1, 16, 16)
    gt[..., 4:12, 2:14] = 1
    targets = {"gt": gt, "mask": torch.ones_like(gt), "thresh": torch.full_like(gt, 0.3),
               "thresh_mask": torch.ones_like(gt)}
    perfect = {"prob_logits": gt * 20 - 10, "binary": gt, "thresh": torch.full_like(gt, 0.3)}
    wrong = {"prob_logits": 10 - gt * 20, "binary": 1 - gt, "thresh": torch.full_like(gt, 0.7)}
    loss_perfect, parts = DBLoss()(perfect, targets)
    loss_wrong, _ = DBLoss()(wrong, targets)
    assert loss_perfect < 0.01 and loss_wrong > 10
    assert set(parts) == {"prob", "binary", "thresh"}


@pytest.mark.parametrize("name", ["db-ppocr", "db-tiny"])
def test_reduced_precision_finds_the_same_words_as_fp32(name):
    """`precision="auto"` (bfloat16 on CPUs that have it, float16 on CUDA) must not move a shipped detector's boxes."""
    import cv2

    from ocrpipe.models import resolve
    from ocrpipe.types import bbox_of

    image = np.full((360, 640, 3), 245, np.uint8)
    for row, line in enumerate(["TOTAL 12.50", "Thank you for shopping", "Receipt No 004517"]):
        cv2.putText(image, line, (30, 80 + 100 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 20), 2)
    _, path = resolve(name, "detector")
    found = {precision: DBDetector.from_file(path, precision=precision).detect([image])[0]
             for precision in ("auto", "fp32")}
    assert len(found["fp32"]) >= 7  # the words above, give or take a split
    assert len(found["auto"]) == len(found["fp32"])
    boxes = {precision: sorted(bbox_of(region.polygon) for region in regions) for precision, regions in found.items()}
    # corners within 3 px on words about 30 px high (db-ppocr v2 measured 2.6 px, v1 and db-tiny under 2)
    assert np.abs(np.asarray(boxes["auto"]) - np.asarray(boxes["fp32"])).max() <= 3


def test_unknown_detector_precision_is_refused(tmp_path):
    save_weights(DBNet(SMALL), tmp_path / "db.pt")
    with pytest.raises(ValueError, match="precision"):
        DBDetector.from_file(tmp_path / "db.pt", precision="fp16")


def test_post_processing_defaults_travel_with_the_weights_and_can_be_overridden(tmp_path):
    save_weights(DBNet(SMALL), tmp_path / "db.pt", {"postprocess": {"box_thresh": 0.6, "unclip_ratio": 1.7},
                                                    "text_unit": "line"})
    own = DBDetector.from_file(tmp_path / "db.pt")
    assert (own.params.box_thresh, own.params.unclip_ratio, own.params.det_thresh) == (0.6, 1.7, 0.3)
    assert own.split_lines  # a line detector's regions are cut into words
    changed = DBDetector.from_file(tmp_path / "db.pt", params={"box_thresh": 0.2}, split_lines=False)
    assert (changed.params.box_thresh, changed.params.unclip_ratio) == (0.2, 1.7) and not changed.split_lines
    save_weights(DBNet(SMALL), tmp_path / "old.pt")  # files from before meta["postprocess"]: the defaults
    assert DBDetector.from_file(tmp_path / "old.pt").params == PostprocessParams()
