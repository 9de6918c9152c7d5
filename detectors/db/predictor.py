"""DBDetector: images in, text regions out (model + resize + post-processing), and our weights file format.

Weights file (``torch.save`` of a plain dict, read with ``torch.load(weights_only=True)``)::

    {"format": "ocrpipe-db/1", "config": DBConfig.to_dict(), "state_dict": {name: fp16 tensor}, "meta": {...}}
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ocrpipe.detectors.db.model import DBConfig, DBNet, resize_for_inference, resize_ratio
from ocrpipe.detectors.db.postprocess import PostprocessParams, regions_from_prob
from ocrpipe.detectors.db.scale import TextScale, region_height, second_look_ratio
from ocrpipe.detectors.db.words import split_at_gaps
from ocrpipe.models import cpu_has_native_bf16
from ocrpipe.types import Region

WEIGHTS_FORMAT = "ocrpipe-db/1"


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when there is one, else the CPU; anything else as torch understands it ("cuda:1", ...)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _half(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """fp16 copies of the floating-point tensors (BatchNorm's integer counters stay as they are)."""
    return {k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype) for k, v in
            state_dict.items()}


def save_weights(model: DBNet, path: str | Path, meta: dict | None = None) -> None:
    """Write ``model`` in the ocrpipe-db/1 format (atomically: temp file, then rename).

    The small resnet detector is stored in float16; PP-OCR-derived ones in float32, so that an imported model stays
    within 1e-4 of its source graph."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    state = model.state_dict()
    if model.config.backbone == "resnet":
        state = _half(state)
    else:
        state = {k: v.detach().cpu() for k, v in state.items()}
    torch.save({"format": WEIGHTS_FORMAT, "config": model.config.to_dict(),
                "state_dict": state, "meta": dict(meta or {})}, tmp)
    tmp.replace(path)


def load_weights(path: str | Path) -> tuple[DBNet, dict]:
    """Read an ocrpipe-db/1 file -> (model in eval mode on the CPU, meta). ValueError for any other file."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:  # missing, unreadable: the system's message says it best
        raise
    except Exception as error:  # torch raises many kinds (UnpicklingError, RuntimeError, KeyError...) for other files
        raise ValueError(f"{path}: not an ocrpipe DB weights file (cannot be read as one: {error})") from None
    found = payload.get("format") if isinstance(payload, dict) else None
    if found != WEIGHTS_FORMAT:
        hint = " (a training checkpoint: use the db.pt that training writes next to it)" if found else ""
        raise ValueError(f"{path}: not an ocrpipe DB weights file: format is {found!r}, expected "
                         f"{WEIGHTS_FORMAT!r}{hint}")
    try:
        model = DBNet(DBConfig.from_dict(payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path}: broken ocrpipe DB weights file: {error}") from None
    return model.eval(), payload.get("meta", {})


class DBDetector:
    """Finds text regions in RGB uint8 images.

    >>> detector = DBDetector.from_file("db.pt", device="cpu")
    >>> regions = detector.detect([image])[0]   # list[Region], polygons in the image's own pixels
    """

    def __init__(self, model: DBNet, params: PostprocessParams | dict | None = None,
                 device: str | torch.device = "cpu", batch_size: int = 4, meta: dict | None = None,
                 limit_side: int | None = None, precision: str = "auto", split_lines: bool | None = None) -> None:
        """`limit_side`: the long side images are resized to before the network (default: the weights' own; how
        much smaller images may be enlarged stays the weights' ``max_upscale``). Weights with a ``text_scale`` in
        their meta look at each image twice when its text is small (``scale.TextScale``), unless `limit_side` is
        given: then every image is resized to that one size. `precision`: "auto" runs the
        network in float16 on CUDA and in bfloat16 on CPUs with native bf16 (the probability maps differ from
        float32 by < 0.01), float32 elsewhere; "fp32" always in float32. `params`: the post-processing settings;
        None: the weights' own (meta ``postprocess``, chosen on development data), a dict: those with some fields
        replaced. `split_lines`: cut each region into words at wide ink gaps (``words.split_at_gaps``); default:
        when the weights find lines (meta ``text_unit``)."""
        if precision not in ("auto", "fp32"):
            raise ValueError(f"precision must be 'auto' or 'fp32', not {precision!r}")
        self.device = resolve_device(device)
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        self.autocast_dtype = None
        if precision == "auto":
            if self.device.type == "cuda":
                self.autocast_dtype = torch.float16
            elif self.device.type == "cpu" and cpu_has_native_bf16():
                self.autocast_dtype = torch.bfloat16
        self.batch_size = batch_size
        self.meta = dict(meta or {})
        own = PostprocessParams(**self.meta.get("postprocess", {}))  # older weights files have none: defaults
        self.params = params if isinstance(params, PostprocessParams) else replace(own, **(params or {}))
        self.split_lines = self.meta.get("text_unit") == "line" if split_lines is None else split_lines
        self.config = model.config if limit_side is None else replace(model.config, limit_side=limit_side,
                                                                      limit_type="max")
        own_scale = self.meta.get("text_scale")
        self.text_scale = TextScale(**own_scale) if own_scale and limit_side is None else None

    @classmethod
    def from_file(cls, path: str | Path, device: str | torch.device = "cpu",
                  params: PostprocessParams | dict | None = None, batch_size: int = 4,
                  limit_side: int | None = None, precision: str = "auto",
                  split_lines: bool | None = None) -> "DBDetector":
        model, meta = load_weights(path)
        return cls(model, params, device, batch_size, meta, limit_side, precision, split_lines)

    def save(self, path: str | Path) -> None:
        save_weights(self.model, path, self.meta)

    def prob_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Probability map of each image at its resized size (padding cut off), as float32 arrays."""
        maps: list[np.ndarray] = []
        for start in range(0, len(images), self.batch_size):
            batch = [resize_for_inference(image, self.config) for image in images[start:start + self.batch_size]]
            for item, prob in zip(batch, self.network([item.tensor for item in batch])):
                width, height = item.size
                maps.append(prob[:height, :width])
        return maps

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Region]]:
        """Text regions of each image (RGB uint8, H x W x 3), polygons clockwise from the text's top-left."""
        if self.text_scale is None:
            found = [regions_from_prob(prob, (image.shape[1], image.shape[0]), self.params)
                     for prob, image in zip(self.prob_maps(images), images)]
        else:
            found = [self._detect_at_text_scale(image) for image in images]
        if self.split_lines:
            found = [[Region(polygon=[(float(x), float(y)) for x, y in piece], score=region.score)
                      for region in regions for piece in split_at_gaps(image, np.asarray(region.polygon))]
                     for regions, image in zip(found, images)]
        return found

    def _detect_at_text_scale(self, image: np.ndarray) -> list[Region]:
        """A first look at the probe ratio; a second, larger one when the text it found is small."""
        height, width = image.shape[:2]
        config = self.config
        max_ratio = resize_ratio(width, height, config.limit_side, config.limit_type, config.max_upscale)
        probe_ratio = min(self.text_scale.probe_ratio, max_ratio)
        regions = self.look(image, probe_ratio)
        ratio = second_look_ratio([region_height(r.polygon) for r in regions], probe_ratio, max_ratio,
                                  self.text_scale)
        return regions if ratio is None else self.look(image, ratio)

    def look(self, image: np.ndarray, ratio: float) -> list[Region]:
        """The regions found in one image resized by `ratio`."""
        resized = resize_for_inference(image, self.config, ratio)
        width, height = resized.size
        prob = self.network([resized.tensor])[0][:height, :width]
        return regions_from_prob(prob, (image.shape[1], image.shape[0]), self.params)

    def network(self, tensors: list[torch.Tensor]) -> list[np.ndarray]:
        """Run the network on a batch of normalized tensors padded to a common size."""
        height = max(t.shape[1] for t in tensors)
        width = max(t.shape[2] for t in tensors)
        batch = torch.stack([F.pad(t, (0, width - t.shape[2], 0, height - t.shape[1])) for t in tensors])
        on_cuda = self.device.type == "cuda"
        batch = batch.to(self.device, non_blocking=on_cuda).contiguous(memory_format=torch.channels_last)
        autocast = (torch.autocast(self.device.type, dtype=self.autocast_dtype) if self.autocast_dtype
                    else nullcontext())
        with torch.inference_mode(), autocast:
            prob = self.model(batch)["prob"]
        return list(prob[:, 0].float().cpu().numpy())

