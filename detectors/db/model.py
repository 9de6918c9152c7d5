"""DBNet (Liao et al., "Real-time Scene Text Detection with Differentiable Binarization") in plain torch.

    image -> backbone (C2..C5 at strides 4, 8, 16, 32) -> FPN fused to stride 4 -> heads at full resolution

* Backbone and neck, by ``DBConfig.backbone``:

  - ``"resnet"`` (db-tiny): a small ResNet-18-like network (basic residual blocks) whose channel widths and depths
    come from :class:`DBConfig`, sized to run on a couple of CPU cores; FPN neck: each Ci gets a 1x1 conv to
    ``neck_channels``, a top-down path adds nearest-upsampled coarser levels, each merged level gets a 3x3 conv to
    ``neck_channels // 4`` and is upsampled to stride 4, and the four are concatenated.
  - ``"pplcnetv3"``: PaddleOCR's PP-OCRv4 mobile detector (PPLCNetV3 + RSE-FPN, ``pplcnet.py``), so that its
    pretrained weights can be imported (``ppocr_import.py``) and fine-tuned.
* Probability head: 3x3 conv, two 2x2 transposed convs back to the input size, sigmoid -> P.
* Threshold head (training only): same shape -> T; approximate binary map B = sigmoid(k (P - T)), k = 50.

In eval mode the model returns only ``{"prob": P}``; the threshold branch is never run. The model knows tensors only:
turning P into polygons is ``postprocess.py``'s job.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ocrpipe.detectors.db.pplcnet import RSEFPN, PPLCNetV3

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BACKBONES = ("resnet", "pplcnetv3")


@dataclass(frozen=True)
class DBConfig:
    """Everything needed to rebuild a DBNet and feed it; stored inside every weights file."""

    backbone: str = "resnet"  # "resnet" (widths, depths below) or "pplcnetv3" (PP-OCRv4 mobile; fixed sizes)
    widths: tuple[int, ...] = (32, 64, 128, 256)  # channels of C2..C5: ResNet-18 at half width
    depths: tuple[int, ...] = (1, 1, 1, 1)  # residual blocks per stage (ResNet-18 is 2, 2, 2, 2)
    neck_channels: int = 64  # FPN inner width; the fused map has the same width
    k: float = 50.0  # steepness of the differentiable binarization
    limit_side: int = 960  # inference resize target, see resize_for_inference
    limit_type: str = "max"  # "max": long side <= limit_side; "min": short side >= limit_side
    max_upscale: float = 1.0  # "max" only: smaller images are enlarged towards limit_side by up to this factor
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if len(self.widths) != 4 or len(self.depths) != 4:
            raise ValueError("DBConfig needs 4 widths and 4 depths (stages C2..C5)")
        if self.neck_channels % 4:
            raise ValueError("neck_channels must be a multiple of 4")
        if self.limit_type not in ("max", "min"):
            raise ValueError(f"limit_type must be 'max' or 'min', got {self.limit_type!r}")
        if self.max_upscale < 1.0:
            raise ValueError(f"max_upscale must be at least 1, got {self.max_upscale}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "DBConfig":
        """Inverse of :meth:`to_dict` (lists become tuples); unknown keys are an error, missing ones get defaults."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown DBConfig keys: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (1x1 projection when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout, 3, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x), inplace=True)


class Backbone(nn.Module):
    """Stem (two stride-2 convs) then four residual stages; returns C2..C5 at strides 4, 8, 16, 32."""

    def __init__(self, widths: tuple[int, ...], depths: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(3, widths[0] // 2, 3, 2), conv_bn_relu(widths[0] // 2, widths[0], 3, 2))
        stages, cin = [], widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths)):
            blocks = [BasicBlock(cin if j == 0 else width, width, 2 if (i > 0 and j == 0) else 1) for j in range(depth)]
            stages.append(nn.Sequential(*blocks))
            cin = width
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class FPN(nn.Module):
    """Top-down feature pyramid fused into one stride-4 map of ``channels`` channels."""

    def __init__(self, in_channels: tuple[int, ...], channels: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1, bias=False) for c in in_channels)
        self.smooth = nn.ModuleList(nn.Conv2d(channels, channels // 4, 3, padding=1, bias=False) for _ in in_channels)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        merged = [lateral(f) for lateral, f in zip(self.lateral, features)]
        for i in range(len(merged) - 2, -1, -1):  # coarse to fine
            merged[i] = merged[i] + F.interpolate(merged[i + 1], size=merged[i].shape[-2:], mode="nearest")
        size = merged[0].shape[-2:]
        outs = [F.interpolate(smooth(m), size=size, mode="nearest") if i else smooth(m)
                for i, (smooth, m) in enumerate(zip(self.smooth, merged))]
        return torch.cat(outs, dim=1)


class Head(nn.Module):
    """Stride-4 features -> one full-resolution logit map (3x3 conv, then two 2x transposed convs)."""

    def __init__(self, channels: int, transpose_bias: bool = False) -> None:
        """`transpose_bias`: give the first transposed conv a bias (PP-OCR's head has one before its BatchNorm)."""
        super().__init__()
        mid = channels // 4
        self.layers = nn.Sequential(
            conv_bn_relu(channels, mid, 3),
            nn.ConvTranspose2d(mid, mid, 2, 2, bias=transpose_bias), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(mid, 1, 2, 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class DBNet(nn.Module):
    """Backbone + FPN + probability head (+ threshold head and differentiable binarization when training).

    ``forward(images)`` takes a normalized float batch (N, 3, H, W) with H, W multiples of 32 and returns a dict:
    eval: ``prob`` (N, 1, H, W) in [0, 1]; training: also ``prob_logits``, ``thresh`` (T) and ``binary`` (B).
    """

    def __init__(self, config: DBConfig | None = None) -> None:
        super().__init__()
        self.config = config or DBConfig()
        channels = self.config.neck_channels
        if self.config.backbone == "pplcnetv3":
            self.backbone: nn.Module = PPLCNetV3()
            self.neck: nn.Module = RSEFPN(PPLCNetV3.out_channels, channels)
        else:
            self.backbone = Backbone(self.config.widths, self.config.depths)
            self.neck = FPN(self.config.widths, channels)
        pretrained_form = self.config.backbone == "pplcnetv3"
        self.prob_head = Head(channels, transpose_bias=pretrained_form)
        self.thresh_head = Head(channels, transpose_bias=pretrained_form)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # Start with low text probability everywhere (text is rare), as detection heads usually do.
        nn.init.constant_(self.prob_head.layers[-1].bias, -2.0)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        fused = self.neck(self.backbone(images))
        prob_logits = self.prob_head(fused)
        prob = torch.sigmoid(prob_logits)
        if not self.training:
            return {"prob": prob}
        thresh = torch.sigmoid(self.thresh_head(fused))
        binary = torch.sigmoid(self.config.k * (prob - thresh))
        return {"prob": prob, "prob_logits": prob_logits, "thresh": thresh, "binary": binary}


def normalize(image: np.ndarray, mean: tuple[float, ...] = IMAGENET_MEAN,
              std: tuple[float, ...] = IMAGENET_STD) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float tensor (3, H, W) normalized by mean/std (on the 0..1 scale)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    m = torch.tensor(mean).view(3, 1, 1)
    s = torch.tensor(std).view(3, 1, 1)
    return tensor.sub_(m).div_(s)


def resize_ratio(width: int, height: int, limit_side: int, limit_type: str, max_upscale: float = 1.0) -> float:
    """The factor an image is resized by before the network, keeping its aspect ratio.

    ``max``: the long side is brought to ``limit_side``: shrunk when larger, enlarged by at most ``max_upscale`` when
    smaller (1: never enlarged); small text gets more pixels that way. ``min``: enlarge so the short side is at least
    ``limit_side`` (never shrink).
    """
    if limit_type == "max":
        return min(max_upscale, limit_side / max(width, height))
    if limit_type == "min":
        return max(1.0, limit_side / min(width, height))
    raise ValueError(f"limit_type must be 'max' or 'min', got {limit_type!r}")


def resized_size(width: int, height: int, limit_side: int, limit_type: str,
                 max_upscale: float = 1.0) -> tuple[int, int]:
    """Size (w, h) an image is resized to before padding (see :func:`resize_ratio`)."""
    ratio = resize_ratio(width, height, limit_side, limit_type, max_upscale)
    return max(1, round(width * ratio)), max(1, round(height * ratio))


@dataclass
class Resized:
    """An image prepared for the network."""

    tensor: torch.Tensor  # (3, H', W') normalized, zero-padded to multiples of 32 at the right and bottom
    size: tuple[int, int]  # (width, height) of the resized image inside the padding
    scale: tuple[float, float]  # (scale_x, scale_y) = resized / original size


def resize_for_inference(image: np.ndarray, config: DBConfig, ratio: float | None = None) -> Resized:
    """RGB uint8 image -> normalized, resized, padded tensor plus what it takes to map results back.

    The image is resized keeping its aspect ratio, by ``ratio`` or else as ``config`` says (see
    :func:`resize_ratio`), and zero-padded at the right and bottom (zero = the mean colour after normalization). A
    point (x, y) of the network's output maps back to the original image as (x / scale_x, y / scale_y); padding adds
    nothing to the left or top.
    """
    height, width = image.shape[:2]
    if ratio is None:
        new_w, new_h = resized_size(width, height, config.limit_side, config.limit_type, config.max_upscale)
    else:
        new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
    if (new_w, new_h) != (width, height):
        interpolation = cv2.INTER_AREA if new_w < width else cv2.INTER_LINEAR
        image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    tensor = normalize(image, config.mean, config.std)
    tensor = F.pad(tensor, (0, -new_w % 32, 0, -new_h % 32))
    return Resized(tensor=tensor, size=(new_w, new_h), scale=(new_w / width, new_h / height))
