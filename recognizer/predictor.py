"""`Recognizer`: reads word crops in batches with a CLIP4STR model (the object the pipeline and CLI hold)."""
from __future__ import annotations

import contextlib
import os
from typing import Sequence

import numpy as np
import torch

from ocrpipe.types import Recognition
from ocrpipe.recognizer.clip4str.checkpoint import load_model
from ocrpipe.recognizer.clip4str.model import CLIP4STR
from ocrpipe.recognizer.preprocess import crop_to_tensor

DECODE_MODES = ("ar", "nar")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Recognizer:
    """Batched predict-and-refine on crops.

    Crops are sorted by aspect ratio before batching, so one long word does not make a batch of short ones run all
    26 autoregressive steps. `decode="nar"` is the faster non-autoregressive mode (see `CLIP4STR.decode_nar`).
    """

    def __init__(self, model: CLIP4STR, device: str | torch.device = "cpu", decode: str = "ar",
                 refine_iters: int | None = None, precision: str = "fp32"):
        if decode not in DECODE_MODES:
            raise ValueError(f"decode must be one of {DECODE_MODES}, not {decode!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {tuple(PRECISIONS)}, not {precision!r}")
        self.device = torch.device(device)
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("fp16 inference needs a CUDA device")
        self.model = model.to(self.device).eval()
        self.decode = decode
        self.refine_iters = refine_iters
        self.precision = precision

    @classmethod
    def from_file(cls, path: str | os.PathLike, device: str = "cpu", trust: bool = False,
                  **options) -> "Recognizer":
        return cls(load_model(path, trust=trust), device, **options)

    def _autocast(self):
        dtype = PRECISIONS[self.precision]
        return torch.autocast(self.device.type, dtype=dtype) if dtype else contextlib.nullcontext()

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        if self.decode == "nar":
            return self.model.decode_nar(images, self.refine_iters)
        return self.model(images, self.refine_iters)

    def read(self, crops: Sequence[np.ndarray], batch_size: int = 64) -> list[Recognition]:
        """Recognise RGB uint8 crops; results come back in input order."""
        cfg = self.model.cfg
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / max(1, crops[i].shape[0]))
        results: list[Recognition | None] = [None] * len(crops)
        with torch.inference_mode(), self._autocast():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                images = torch.stack([crop_to_tensor(crops[i], cfg.image_size, cfg.mean, cfg.std) for i in chunk])
                probs = self._logits(images.to(self.device)).float().softmax(-1)
                texts, confidences = self.model.tokenizer.decode(probs)
                for i, text, conf in zip(chunk, texts, confidences):
                    conf = conf.cpu()
                    results[i] = Recognition(text=text, confidence=float(conf.prod()),
                                             char_confidences=[round(float(c), 4) for c in conf[: len(text)]])
        return results  # type: ignore[return-value]
