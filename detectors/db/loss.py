"""DBNet loss: prob_weight * balanced BCE(P) + binary_weight * Dice(B) + thresh_weight * masked L1(T).

The default weights (5, 1, 10) are those the official DB code trains with (the paper writes BCE for B with weight
1 and 10 for T; the code uses Dice for B and up-weights the BCE on P by 5).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def balanced_bce(logits: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, negative_ratio: float = 3.0,
                 eps: float = 1e-6) -> torch.Tensor:
    """BCE over all positive pixels plus the hardest negatives, at most ``negative_ratio`` per positive.

    Works on logits (stable, and allowed under autocast). With no positive pixel at all (a crop without text),
    every negative pixel counts, so empty crops still teach "no text here".
    """
    positive = gt * mask
    negative = (1.0 - gt) * mask
    n_pos = int(positive.sum().item())
    n_neg_all = int(negative.sum().item())
    n_neg = min(n_neg_all, int(n_pos * negative_ratio)) if n_pos else n_neg_all
    loss = F.binary_cross_entropy_with_logits(logits, gt, reduction="none")
    positive_loss = (loss * positive).sum()
    negative_loss = torch.topk((loss * negative).flatten(), n_neg).values.sum() if n_neg else loss.new_zeros(())
    return (positive_loss + negative_loss) / (n_pos + n_neg + eps)


def dice_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """1 - 2 |pred * gt| / (|pred| + |gt|), all inside the mask."""
    intersection = (pred * gt * mask).sum()
    union = (pred * mask).sum() + (gt * mask).sum() + eps
    return 1.0 - 2.0 * intersection / union


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Mean absolute error over the pixels where mask is 1."""
    return ((pred - target).abs() * mask).sum() / (mask.sum() + eps)


@dataclass(frozen=True)
class LossWeights:
    prob: float = 5.0
    binary: float = 1.0
    thresh: float = 10.0
    negative_ratio: float = 3.0


class DBLoss(nn.Module):
    """Total DB loss for one batch; ``forward`` returns (total, {"prob", "binary", "thresh"} detached parts).

    ``outputs`` is the training-mode dict of :class:`~ocrpipe.detectors.db.model.DBNet`; ``targets`` holds batched
    ``gt``, ``mask``, ``thresh``, ``thresh_mask`` tensors of shape (N, 1, H, W) (see ``targets.py``).
    """

    def __init__(self, weights: LossWeights | None = None) -> None:
        super().__init__()
        self.weights = weights or LossWeights()

    def forward(self, outputs: dict[str, torch.Tensor],
                targets: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        gt, mask = targets["gt"], targets["mask"]
        parts = {
            "prob": balanced_bce(outputs["prob_logits"].float(), gt, mask, self.weights.negative_ratio),
            "binary": dice_loss(outputs["binary"].float(), gt, mask),
            "thresh": masked_l1(outputs["thresh"].float(), targets["thresh"], targets["thresh_mask"]),
        }
        total = (self.weights.prob * parts["prob"] + self.weights.binary * parts["binary"]
                 + self.weights.thresh * parts["thresh"])
        return total, {name: float(value.detach()) for name, value in parts.items()}
