"""Import PaddleOCR's pretrained PP-OCRv4 mobile DB detector from the ONNX file inside the RapidOCR wheel.

    model = import_ppocr_v4(find_ppocr_v4())      # a DBNet(backbone="pplcnetv3") in eval mode, threshold head fresh

The ONNX graph keeps its weights as ``Constant`` nodes (or initializers) with flat auto-generated names that say
nothing about where they belong, but every weight tensor has exactly one consumer, so the weights map onto our
module tree by position: walk the graph's nodes in order and collect the learnable tensors of each layer (a
convolution's weight and bias, a BatchNorm's four tensors, a learnable affine's two scalars), walk our model's
layers in the order a forward pass runs them, and pair the two lists one to one, checking every shape. The export
dropped DB's threshold branch, so ``thresh_head`` keeps its fresh initialisation (train it before using it).

The weights are Baidu's PaddleOCR models, Apache-2.0 (see ``ocrpipe/weights/NOTICE``); reading them needs only the
``onnx`` package.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ocrpipe.detectors.db.model import DBConfig, DBNet
from ocrpipe.detectors.db.pplcnet import LearnableAffine

PPOCR_V4_FILE = "ch_PP-OCRv4_det_infer.onnx"
PPOCR_V4_PACKAGE = "rapidocr_onnxruntime"  # its wheel (1.4.4) carries the file under models/
# How RapidOCR feeds the network: (x / 255 - 0.5) / 0.5 per channel; see docs/DETECTOR.md for the input size.
PPOCR_MEAN = (0.5, 0.5, 0.5)
PPOCR_STD = (0.5, 0.5, 0.5)


class GraphMismatch(ValueError):
    """The file is not the PP-OCR detector graph this importer knows (message names the file and the mismatch)."""


def find_ppocr_v4() -> Path:
    """Where the installed RapidOCR wheel keeps the PP-OCRv4 detector; FileNotFoundError when it is not installed."""
    spec = importlib.util.find_spec(PPOCR_V4_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{PPOCR_V4_PACKAGE} is not installed: `pip install --no-deps "
                                f"{PPOCR_V4_PACKAGE}==1.4.4`, or give the .onnx file's path")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / PPOCR_V4_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in the installed {PPOCR_V4_PACKAGE}")
    return path


@dataclass
class LayerTensors:
    """The learnable tensors of one graph layer, in the order our module stores them."""

    op: str  # "conv", "batchnorm" or "affine"
    tensors: list[np.ndarray]


def _constants(graph) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def graph_layers(path: str | Path) -> list[LayerTensors]:
    """The learnable layers of the exported graph, in node order.

    * Conv / ConvTranspose: weight, then the bias: the node's third input, or (ConvTranspose) the constant of the
      ``Add`` that consumes its output.
    * BatchNormalization: scale, bias, running mean, running variance.
    * A learnable affine: the one-element constant of a ``Mul`` followed by the one-element constant of the ``Add``
      that consumes it (the graph's fixed scalars, e.g. hardswish's 3 and 6, are 0-d and not learnable).
    """
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as error:  # onnx raises DecodeError and others for files that are not ONNX
        raise GraphMismatch(f"{path}: not an ONNX file ({error})") from None
    graph = model.graph
    values = _constants(graph)
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def constant_input(node, shape_check) -> np.ndarray | None:
        found = [values[i] for i in node.input if i in values and shape_check(values[i])]
        return found[0] if len(found) == 1 else None

    layers: list[LayerTensors] = []
    for node in graph.node:
        if node.op_type in ("Conv", "ConvTranspose"):
            tensors = [values[node.input[1]]]
            if len(node.input) > 2 and node.input[2]:
                tensors.append(values[node.input[2]])
            elif node.op_type == "ConvTranspose":
                following = consumers.get(node.output[0], [])
                bias = constant_input(following[0], lambda a: a.ndim == 4) if len(following) == 1 and \
                    following[0].op_type == "Add" else None
                if bias is not None:
                    tensors.append(bias.reshape(-1))
            layers.append(LayerTensors("conv", tensors))
        elif node.op_type == "BatchNormalization":
            layers.append(LayerTensors("batchnorm", [values[name] for name in node.input[1:5]]))
        elif node.op_type == "Mul":
            scale = constant_input(node, lambda a: a.shape == (1,))
            following = consumers.get(node.output[0], [])
            if scale is None or len(following) != 1 or following[0].op_type != "Add":
                continue
            bias = constant_input(following[0], lambda a: a.shape == (1,))
            if bias is None:
                raise GraphMismatch(f"{path}: a learnable scale without its bias after node {node.name!r}")
            layers.append(LayerTensors("affine", [scale, bias]))
    return layers


def _model_layers(model: DBNet) -> list[tuple[str, nn.Module]]:
    """(kind, module) of every learnable layer of ``model``'s inference path, in the order a forward pass runs them."""
    kinds = {nn.Conv2d: "conv", nn.ConvTranspose2d: "conv", nn.BatchNorm2d: "batchnorm", LearnableAffine: "affine"}
    order: list[tuple[str, nn.Module]] = []
    hooks = [module.register_forward_hook(lambda m, _inputs, _output: order.append((kinds[type(m)], m)))
             for module in model.modules() if type(module) in kinds]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 64, 64))
    finally:
        for hook in hooks:
            hook.remove()
    return order


def _targets(kind: str, module: nn.Module) -> list[torch.Tensor]:
    if kind == "batchnorm":
        return [module.weight, module.bias, module.running_mean, module.running_var]
    if kind == "affine":
        return [module.scale, module.bias]
    return [module.weight] + ([module.bias] if module.bias is not None else [])


def load_graph_weights(model: DBNet, layers: list[LayerTensors], source: str = "graph") -> None:
    """Copy ``layers`` into ``model`` position by position; GraphMismatch on any count, kind or shape mismatch."""
    ours = _model_layers(model)
    if len(ours) != len(layers):
        raise GraphMismatch(f"{source}: {len(layers)} learnable layers, the model has {len(ours)}")
    with torch.no_grad():
        for index, ((kind, module), layer) in enumerate(zip(ours, layers)):
            targets = _targets(kind, module)
            shapes = [tuple(t.shape) for t in targets]
            found = [tuple(a.shape) for a in layer.tensors]
            if kind != layer.op or shapes != found:
                raise GraphMismatch(f"{source}: layer {index} is a {layer.op} {found} in the graph but a {kind} "
                                   f"{shapes} in the model")
            for target, array in zip(targets, layer.tensors):
                target.copy_(torch.from_numpy(np.array(array, dtype=np.float32)))


def import_ppocr_v4(path: str | Path, config: DBConfig | None = None) -> DBNet:
    """A DBNet with PP-OCRv4 mobile's pretrained weights (probability branch) from its ONNX file, in eval mode.

    ``config`` may set the inference settings (input size, ...); backbone, neck width, mean and std are PP-OCR's.
    """
    base = config or DBConfig()
    config = DBConfig.from_dict({**base.to_dict(), "backbone": "pplcnetv3", "neck_channels": 96,
                                 "mean": PPOCR_MEAN, "std": PPOCR_STD})
    model = DBNet(config)
    load_graph_weights(model, graph_layers(path), str(path))
    return model.eval()
