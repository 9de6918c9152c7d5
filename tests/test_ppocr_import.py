"""The PP-OCRv4 detector imported into our module tree reproduces onnxruntime's probability map on real images."""
import json

import numpy as np
import pytest
import torch

from ocrpipe.detectors.db.model import DBConfig, DBNet, resize_for_inference
from ocrpipe.detectors.db.ppocr_import import (GraphMismatch, LayerTensors, PPOCR_MEAN, PPOCR_STD, find_ppocr_v4,
                                       graph_layers, import_ppocr_v4, load_graph_weights)
from ocrpipe.detectors.db.predictor import load_weights, save_weights
from ocrpipe.io import load_image

onnxruntime = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def onnx_path():
    try:
        return find_ppocr_v4()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def imported(onnx_path):
    return import_ppocr_v4(onnx_path)


def _network_input(image: np.ndarray) -> np.ndarray:
    config = DBConfig(limit_side=960, limit_type="max", mean=PPOCR_MEAN, std=PPOCR_STD)
    return resize_for_inference(image, config).tensor[None].numpy()


def test_the_graph_has_one_learnable_layer_per_module_layer(onnx_path):
    layers = graph_layers(onnx_path)
    kinds = [layer.op for layer in layers]
    # 64 convolutions (62 Conv + 2 ConvTranspose), 3 BatchNorms, 2 scalars per learnable affine
    assert kinds.count("conv") == 64 and kinds.count("batchnorm") == 3
    assert all(len(layer.tensors) == 2 for layer in layers if layer.op == "affine")


@pytest.mark.parametrize("relative", ["e2e/ic15_toy/images/img_1.jpg", "e2e/sroie_dev/images/000.jpg",
                                      "e2e/funsd_train/images/0000971160.png"])
def test_imported_model_matches_onnxruntime_on_real_images(shared, onnx_path, imported, relative):
    image = load_image(shared / "data" / relative)
    x = _network_input(image)
    # Graph optimizations off: ORT's fused kernels are themselves up to 2.5e-4 away from a float64 evaluation of
    # this graph on the FUNSD page (ours: 1.5e-5), which would drown the comparison in ORT's own rounding.
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.inference_mode():
        found = imported(torch.from_numpy(x))["prob"].numpy()
    assert found.shape == expected.shape
    assert np.abs(found - expected).max() <= 1e-4
    assert (expected > 0.3).sum() > 1000  # real text was found, so the comparison covers it


def test_saved_and_reloaded_import_gives_the_same_map(tmp_path, imported):
    save_weights(imported, tmp_path / "ppocr.pt", {"text_unit": "line"})
    reloaded, meta = load_weights(tmp_path / "ppocr.pt")
    x = torch.randn(1, 3, 96, 128)
    with torch.inference_mode():
        assert torch.equal(reloaded(x)["prob"], imported(x)["prob"])
    assert meta["text_unit"] == "line" and reloaded.config.backbone == "pplcnetv3"


def test_the_imported_model_trains_with_its_fresh_threshold_head(imported):
    model = DBNet(imported.config)
    model.load_state_dict(imported.state_dict())
    outputs = model.train()(torch.randn(2, 3, 64, 64))
    assert set(outputs) == {"prob", "prob_logits", "thresh", "binary"}
    outputs["binary"].mean().backward()
    assert model.backbone.stem[0].weight.grad is not None


def test_a_shape_mismatch_is_reported_with_the_layer(onnx_path):
    layers = graph_layers(onnx_path)
    layers[5] = LayerTensors("conv", [np.zeros((7, 7, 1, 1), np.float32)])
    model = DBNet(DBConfig(backbone="pplcnetv3", neck_channels=96))
    with pytest.raises(GraphMismatch, match="layer 5"):
        load_graph_weights(model, layers)
    with pytest.raises(GraphMismatch, match="learnable layers"):
        load_graph_weights(model, layers[:-1])


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    bogus = tmp_path / "det.onnx"
    bogus.write_bytes(b"not a protobuf at all \x00\xff")
    with pytest.raises(GraphMismatch, match="det.onnx"):
        import_ppocr_v4(bogus)


def test_the_cli_imports_the_wheels_graph_and_the_result_detects_words(tmp_path, onnx_path, shared):
    from tests.test_cli import ocrpipe

    target = tmp_path / "ppocr.pt"
    done = ocrpipe("models", "import-ppocr", "-o", str(target))
    assert done.returncode == 0, done.stderr
    _, meta = load_weights(target)
    assert meta["text_unit"] == "line" and meta["source_sha256"].startswith("d2a7720d")
    checked = ocrpipe("eval", "det", str(shared / "data" / "e2e" / "ic15_toy"), "--det-model", str(target),
                      "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["f1"] > 0.5  # its lines, cut into words at the ink gaps
    missing = ocrpipe("models", "import-ppocr", str(tmp_path / "nothing.onnx"))
    assert missing.returncode == 2 and "nothing.onnx" in missing.stderr
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"\x00\x01 not onnx")
    refused = ocrpipe("models", "import-ppocr", str(bogus), "-o", str(tmp_path / "out.pt"))
    assert refused.returncode == 1 and "bogus.onnx" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "out.pt").exists()


def test_the_shipped_line_finder_is_the_wheels_model_converted_and_nothing_else(imported):
    """ppocr-v4-lines.pt (shipped, the first stage of the default detector) holds exactly the imported tensors
    (all but the threshold branch, which the graph lacks: freshly initialised, unused at inference)."""
    from ocrpipe.models import resolve

    _, path = resolve("ppocr-v4-lines", "detector")
    shipped, meta = load_weights(path)
    assert meta["text_unit"] == "line"
    ours = shipped.state_dict()
    theirs = imported.state_dict()
    assert ours.keys() == theirs.keys()
    converted = [name for name in ours if not name.startswith("thresh_head.")]
    assert len(converted) > 100
    assert all(torch.equal(ours[name], theirs[name]) for name in converted)
