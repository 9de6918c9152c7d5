"""Permuted sequence modelling (PARSeq) as CLIP4STR trains it: permutations, their attention masks, the loss.

Positions in a permutation: 0 = BOS, 1..n = the characters, n + 1 = EOS. One permutation set serves a whole batch
(n = longest label); shorter labels are handled by the padding mask.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import permutations as all_permutations

import torch
import torch.nn.functional as F
from torch import Tensor

from ocrpipe.recognizer.clip4str.model import CLIP4STR

# For n = 4 with mirroring: one member of each (permutation, reversal) pair, in itertools order.
_MIRROR_SELECTOR_4 = [0, 3, 4, 6, 9, 10, 12, 16, 17, 18, 19, 21]


def sample_permutations(n: int, num_perms: int = 6, mirrored: bool = True,
                        generator: torch.Generator | None = None) -> Tensor:
    """Character orders to train on, as [K, n + 2] position sequences with BOS first and EOS last.

    The canonical (left-to-right) order comes first; with mirroring each order is followed by its reversal, and
    the second permutation is rewritten to put EOS right after BOS (teaches EOS for non-autoregressive decoding).
    """
    if n == 1:
        return torch.arange(3).unsqueeze(0)
    num_base = num_perms // 2 if mirrored else num_perms
    pool_size = math.factorial(n) // (2 if mirrored else 1)
    num_base = min(num_base, pool_size)
    orders = [torch.arange(n)]
    if n < 5:
        selector = _MIRROR_SELECTOR_4 if (n == 4 and mirrored) else list(range(pool_size))
        pool = torch.tensor(list(all_permutations(range(n))))[selector][1:]  # canonical already taken
        if num_base > 1:
            picks = torch.randperm(len(pool), generator=generator)[: num_base - 1]
            orders.extend(pool[picks])
    else:
        orders.extend(torch.randperm(n, generator=generator) for _ in range(num_base - 1))
    orders = torch.stack(orders)
    if mirrored:
        orders = torch.stack([orders, orders.flip(-1)], dim=1).reshape(-1, n)
    bos = orders.new_zeros(len(orders), 1)
    eos = orders.new_full((len(orders), 1), n + 1)
    perms = torch.cat([bos, orders + 1, eos], dim=1)
    if len(perms) > 1:
        perms[1, 1:] = n + 1 - torch.arange(n + 1)
    return perms


def permutation_masks(perm: Tensor) -> tuple[Tensor, Tensor]:
    """(content_mask [n+1, n+1], query_mask [n+1, n+1]) as float 0 / -inf for one permutation.

    A position may not see positions that come after it in the permutation; a query also may not see its own token.
    Query row r predicts target r + 1; columns are context positions 0 (BOS) .. n.
    """
    size = perm.shape[0]
    mask = torch.zeros(size, size)
    for i in range(size):
        mask[perm[i], perm[i + 1:]] = float("-inf")
    content_mask = mask[:-1, :-1].clone()
    mask[torch.eye(size, dtype=torch.bool)] = float("-inf")
    query_mask = mask[1:, :-1]
    return content_mask, query_mask


def fold_case(log_probs: Tensor, caseless: Tensor, partners: Tensor) -> Tensor:
    """Log-probabilities [B, ..., C] where the rows flagged in `caseless` [B] give each letter the probability of
    either case (p(a) + p(A)), so that an upper-cased label scores a lower-case reading as correct.

    For training sets whose transcripts were upper-cased whatever the print (SROIE): the model is not taught to
    read lower-case print as capitals, and the other rows keep the case-sensitive loss.
    """
    has_partner = partners != torch.arange(len(partners), device=partners.device)
    folded = torch.where(has_partner, torch.logaddexp(log_probs, log_probs[..., partners]), log_probs)
    flags = caseless.view(-1, *([1] * (log_probs.dim() - 1)))
    return torch.where(flags, folded, log_probs)


def _cross_entropy(logits: Tensor, targets: Tensor, pad_id: int, caseless: Tensor | None,
                   partners: Tensor | None) -> Tensor:
    log_probs = logits.float().log_softmax(-1)
    if caseless is not None and bool(caseless.any()):
        log_probs = fold_case(log_probs, caseless, partners)
    return F.nll_loss(log_probs.flatten(0, 1), targets.flatten(), ignore_index=pad_id)


@dataclass
class PsmLoss:
    total: Tensor
    visual: Tensor
    cross: Tensor
    perms: Tensor
    image_features: Tensor | None = None  # F_i, for auxiliary losses on the image encoder (ctc_aux.py)
    # per permutation, for tests and logging
    visual_logits: list[Tensor] = field(default_factory=list)
    cross_logits: list[Tensor] = field(default_factory=list)
    captions: list[list[str]] = field(default_factory=list)
    num_targets: list[int] = field(default_factory=list)


def psm_loss(model: CLIP4STR, images: Tensor, labels: list[str], perms: Tensor | None = None,
             num_perms: int = 6, cross_loss_weight: float = 1.0,
             generator: torch.Generator | None = None, caseless: Tensor | None = None) -> PsmLoss:
    """CLIP4STR's training loss: for every permutation, the visual decoder on F_i and the cross-modal decoder on
    F_c (built from that permutation's detached visual prediction), both with ground-truth context.

    L = sum_k n_k (CE_vis,k + w CE_cross,k) / sum_k n_k; EOS targets count only in the first two permutations.
    `caseless` [B] (bool) marks labels whose case is unknown: their letters are scored case-insensitively.
    """
    tokenizer = model.tokenizer
    targets = tokenizer.encode(labels, device=images.device)
    partners = tokenizer.case_partners().to(images.device)
    if caseless is not None:
        caseless = caseless.to(images.device)
    image_features = model.encode_image(images)
    if perms is None:
        perms = sample_permutations(targets.shape[1] - 2, num_perms, generator=generator)
    context, target_out = targets[:, :-1], targets[:, 1:]
    padding = (context == tokenizer.pad_id) | (context == tokenizer.eos_id)
    num_queries = context.shape[1]
    result = PsmLoss(total=images.new_zeros(()), visual=images.new_zeros(()), cross=images.new_zeros(()),
                     perms=perms, image_features=image_features)
    weighted_visual = weighted_cross = images.new_zeros(())
    num_targets_sum = 0
    num_targets = int((target_out != tokenizer.pad_id).sum())
    for k, perm in enumerate(perms):
        content_mask, query_mask = (m.to(images.device) for m in permutation_masks(perm))
        visual_logits = model.visual_decoder(context, image_features, slice(0, num_queries), query_mask,
                                             content_mask, padding)
        captions = model.captions(visual_logits)
        memory = model.cross_memory(image_features, model.caption_ids(captions))
        cross_logits = model.cross_decoder(context, memory, slice(0, num_queries), query_mask, content_mask,
                                           padding)
        visual_ce = _cross_entropy(visual_logits, target_out, tokenizer.pad_id, caseless, partners)
        cross_ce = _cross_entropy(cross_logits, target_out, tokenizer.pad_id, caseless, partners)
        weighted_visual = weighted_visual + num_targets * visual_ce
        weighted_cross = weighted_cross + num_targets * cross_ce
        num_targets_sum += num_targets
        result.visual_logits.append(visual_logits)
        result.cross_logits.append(cross_logits)
        result.captions.append(captions)
        result.num_targets.append(num_targets)
        if k == 1:  # from the third permutation on, EOS is not a target
            target_out = torch.where(target_out == tokenizer.eos_id, tokenizer.pad_id, target_out)
            num_targets = int((target_out != tokenizer.pad_id).sum())
    result.visual = weighted_visual / num_targets_sum
    result.cross = weighted_cross / num_targets_sum
    result.total = result.visual + cross_loss_weight * result.cross
    return result
