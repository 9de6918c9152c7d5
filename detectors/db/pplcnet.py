"""Backbone and neck of PaddleOCR's PP-OCRv4 mobile text detector, in deploy form, written from its exported graph.

    image -> PPLCNetV3 (x0.75, detection taps at strides 4, 8, 16, 32 -> 12, 18, 42, 360 channels)
          -> RSE-FPN (96 channels, fused at stride 4) -> the DB heads of ``model.py``

The architecture was read off the ONNX graph ``ch_PP-OCRv4_det_infer.onnx`` that the RapidOCR wheels carry
(docs/DETECTOR.md, "Pretrained PP-OCR weights"): every layer here is one layer there, in the same forward order, so
``ppocr_import.py`` can load the weights by position. "Deploy form" means PaddleOCR's re-parameterised branches are
already merged into one convolution each (with its bias); they fine-tune as plain convolutions.

Pieces:

* LearnableAffine (PaddleOCR's "LAB"): ``scale * x + bias`` with two learnable scalars.
* RepConv: a convolution, a LearnableAffine, and (except on stride-2 depthwise convs) hardswish + LearnableAffine.
* LCNetBlock: depthwise k x k RepConv, optional squeeze-excitation, pointwise 1 x 1 RepConv.
* RSELayer: a bias-free convolution whose output ``y`` becomes ``y + y * se(y)`` (residual squeeze-excitation, with
  PaddleOCR's hard sigmoid of slope 0.2, not torch's 1/6).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (kernel, stride, in, out, squeeze-excitation) of the 14 blocks, and which block outputs feed the neck.
LCNET_V3_BLOCKS: tuple[tuple[int, int, int, int, bool], ...] = (
    (3, 1, 16, 32, False),
    (3, 2, 32, 48, False), (3, 1, 48, 48, False),  # -> stride 4
    (3, 2, 48, 96, False), (3, 1, 96, 96, False),  # -> stride 8
    (3, 2, 96, 192, False), *((5, 1, 192, 192, False),) * 4,  # -> stride 16
    (5, 2, 192, 384, True), (5, 1, 384, 384, True), (5, 1, 384, 384, False), (5, 1, 384, 384, False),  # -> 32
)
LCNET_V3_TAPS = (2, 4, 9, 13)  # indices of the blocks whose outputs are the stride 4, 8, 16, 32 features
LCNET_V3_TAP_CHANNELS = (12, 18, 42, 360)  # 1x1 adapters after each tap (PaddleOCR's det channel widths)


def paddle_hardsigmoid(x: torch.Tensor) -> torch.Tensor:
    """clamp(0.2 x + 0.5, 0, 1): PaddleOCR's hard sigmoid in its neck (torch's nn.Hardsigmoid has slope 1/6)."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


class LearnableAffine(nn.Module):
    """y = scale * x + bias, two learnable scalars."""

    def __init__(self, scale: float = 1.0, bias: float = 0.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([scale]))
        self.bias = nn.Parameter(torch.tensor([bias]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.bias


class RepConv(nn.Module):
    """Convolution (with bias) -> LearnableAffine [-> hardswish -> LearnableAffine]."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups)
        self.affine = LearnableAffine()
        self.act_affine = LearnableAffine() if act else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.affine(self.conv(x))
        if self.act_affine is not None:
            x = self.act_affine(F.hardswish(x))
        return x


class SqueezeExcite(nn.Module):
    """x * hardsigmoid(conv(relu(conv(mean(x))))), channels reduced 4x, torch's hard sigmoid (slope 1/6)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.expand = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.expand(F.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True))))
        return x * F.hardsigmoid(weights)


class LCNetBlock(nn.Module):
    """Depthwise k x k RepConv (no activation when it strides) -> [squeeze-excitation] -> pointwise RepConv."""

    def __init__(self, kernel: int, stride: int, cin: int, cout: int, se: bool) -> None:
        super().__init__()
        self.depthwise = RepConv(cin, cin, kernel, stride, groups=cin, act=stride == 1)
        self.se = SqueezeExcite(cin) if se else nn.Identity()
        self.pointwise = RepConv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.se(self.depthwise(x)))


class PPLCNetV3(nn.Module):
    """Stem (3x3 stride-2 conv + BatchNorm), 14 LCNet blocks, 1x1 adapters on the four taps -> C2..C5."""

    out_channels = LCNET_V3_TAP_CHANNELS

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
        self.blocks = nn.ModuleList(LCNetBlock(*spec) for spec in LCNET_V3_BLOCKS)
        tap_inputs = [LCNET_V3_BLOCKS[i][3] for i in LCNET_V3_TAPS]
        self.adapters = nn.ModuleList(nn.Conv2d(c, a, 1) for c, a in zip(tap_inputs, LCNET_V3_TAP_CHANNELS))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in LCNET_V3_TAPS:
                taps.append(x)
        return [adapter(tap) for adapter, tap in zip(self.adapters, taps)]


class RSELayer(nn.Module):
    """Bias-free conv, then y + y * hardsigmoid_0.2(conv(relu(conv(mean(y))))) (channels reduced 4x)."""

    def __init__(self, cin: int, cout: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.reduce = nn.Conv2d(cout, cout // 4, 1)
        self.expand = nn.Conv2d(cout // 4, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        weights = self.expand(F.relu(self.reduce(y.mean(dim=(2, 3), keepdim=True))))
        return y + y * paddle_hardsigmoid(weights)


class RSEFPN(nn.Module):
    """Top-down pyramid of RSE layers fused into one stride-4 map of ``channels`` channels.

    Layers run coarse to fine (lateral 1x1 layers, then smoothing 3x3 layers), the order of the exported graph.
    """

    def __init__(self, in_channels: tuple[int, ...], channels: int = 96) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(RSELayer(c, channels, 1) for c in reversed(in_channels))  # coarse first
        self.smooth = nn.ModuleList(RSELayer(channels, channels // 4, 3) for _ in in_channels)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        merged = []  # coarse to fine
        for lateral, feature in zip(self.lateral, reversed(features)):
            level = lateral(feature)
            if merged:
                level = level + F.interpolate(merged[-1], size=level.shape[-2:], mode="nearest")
            merged.append(level)
        smoothed = [smooth(level) for smooth, level in zip(self.smooth, merged)]
        size = smoothed[-1].shape[-2:]
        return torch.cat([F.interpolate(s, size=size, mode="nearest") for s in smoothed[:-1]] + smoothed[-1:], dim=1)
