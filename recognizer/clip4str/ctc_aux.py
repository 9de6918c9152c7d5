"""An auxiliary CTC loss on the image encoder: a training aid for models trained from scratch.

A ViT trained from scratch with only the PARSeq decoders' loss spends a long time (hundreds of thousands of crops)
learning the label prior before its decoders find where each character is. A CTC head on the image tokens gives
every column of the token grid its own target, which teaches the encoder position-specific character features
early. The head exists only during training: it is not part of CLIP4STR, is not saved in the model's weights, and
inference never runs it.

The tokens of each grid column are averaged over the rows, so a 4 x 16 grid gives 16 CTC frames; labels longer than
the frames allow (counting repeats) contribute nothing (`zero_infinity`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ocrpipe.recognizer.clip4str.charset import Tokenizer
from ocrpipe.recognizer.clip4str.psm import fold_case

BLANK = 0  # the tokenizer's EOS id, which never appears inside a label


class CtcHead(nn.Module):
    def __init__(self, width: int, num_classes: int, grid: tuple[int, int]):
        super().__init__()
        self.grid = grid  # (rows, columns) of image tokens
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, num_classes)

    def forward(self, image_features: Tensor) -> Tensor:
        """[B, 1 + rows * columns, E] image tokens (class token first) -> CTC log-probs [columns, B, classes]."""
        rows, columns = self.grid
        patches = image_features[:, 1:].unflatten(1, (rows, columns)).mean(dim=1)
        return self.proj(self.norm(patches)).float().log_softmax(-1).transpose(0, 1)


def ctc_targets(tokenizer: Tokenizer, labels: list[str], device: torch.device) -> tuple[Tensor, Tensor]:
    """Concatenated character ids (1..N) of all labels and each label's length."""
    ids = tokenizer.encode(labels, device=device)[:, 1:]  # drop BOS
    is_char = (ids >= 1) & (ids <= len(tokenizer.charset))
    return ids[is_char], is_char.sum(dim=1)


def ctc_loss(head: CtcHead, image_features: Tensor, tokenizer: Tokenizer, labels: list[str],
             caseless: Tensor | None = None) -> Tensor:
    """Mean CTC loss; labels flagged in `caseless` [B] are scored case-insensitively (psm.fold_case)."""
    log_probs = head(image_features)
    if caseless is not None and bool(caseless.any()):
        partners = tokenizer.case_partners().to(log_probs.device)
        log_probs = fold_case(log_probs.transpose(0, 1), caseless.to(log_probs.device), partners).transpose(0, 1)
    targets, target_lengths = ctc_targets(tokenizer, labels, image_features.device)
    frames = torch.full((log_probs.shape[1],), log_probs.shape[0], dtype=torch.long, device=log_probs.device)
    return F.ctc_loss(log_probs, targets, frames, target_lengths, blank=BLANK, zero_infinity=True)
