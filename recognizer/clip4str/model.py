"""CLIP4STR: a CLIP image encoder + visual decoder predicts, the CLIP text encoder + cross-modal decoder refines.

`CLIP4STR.forward` is the reference decoding (autoregressive visual pass with batch early exit, cross-modal pass,
cloze refinement); `decode_nar` is our faster non-autoregressive variant. Training logic lives in `psm.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import open_clip
import torch
from torch import Tensor, nn

from ocrpipe.recognizer.clip4str.charset import CharsetAdapter, Tokenizer
from ocrpipe.recognizer.clip4str.config import Clip4StrConfig
from ocrpipe.recognizer.clip4str.modules import (Decoder, build_clip, causal_mask, encode_image_tokens,
                                         encode_text_tokens)


@dataclass
class DecodeTrace:
    """The intermediate tensors of one decoding, in the order they are made (kept for tests and debugging)."""

    image_features: Tensor
    visual_ar_logits: Tensor
    visual_ar_context: Tensor
    captions_ar: list[str]
    text_ids_ar: Tensor
    cross_memory_ar: Tensor
    cross_ar_logits: Tensor
    cross_ar_context: Tensor
    refinements: list[dict] = field(default_factory=list)  # one dict of tensors per refinement iteration
    logits: Tensor | None = None  # final output: cross-modal decoder logits


def cloze_mask(num_queries: int, context_length: int, device: torch.device | str = "cpu") -> Tensor:
    """Refinement query mask: query r sees every context position except r + 1 (which holds its own token)."""
    mask = causal_mask(num_queries, device)
    mask[torch.ones_like(mask, dtype=torch.bool).triu(2)] = 0
    return mask[:, :context_length]


def padding_after_eos(context: Tensor, eos_id: int) -> Tensor:
    """True from the first EOS of each row on (that EOS included)."""
    return (context == eos_id).int().cumsum(-1) > 0


class CLIP4STR(nn.Module):
    def __init__(self, cfg: Clip4StrConfig):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = Tokenizer(cfg.charset)
        self.caption_adapter = CharsetAdapter(cfg.caption_charset)
        self.bpe = open_clip.tokenizer.SimpleTokenizer()
        self.clip_model = build_clip(cfg)
        num_positions = cfg.max_label_length + 1
        decoder_args = dict(width=cfg.embed_dim, depth=cfg.decoder_depth, heads=cfg.decoder_heads,
                            mlp_ratio=cfg.decoder_mlp_ratio, dropout=cfg.dropout,
                            num_tokens=self.tokenizer.vocab_size, num_classes=self.tokenizer.num_classes,
                            num_positions=num_positions)
        self.visual_decoder = Decoder(**decoder_args)
        self.cross_decoder = Decoder(**decoder_args)
        self.register_buffer("text_mask", causal_mask(cfg.text_context_length), persistent=False)
        self._freeze_text_layers()

    def _frozen_text_modules(self) -> list[nn.Module]:
        if self.cfg.text_freeze_layers <= 0:
            return []
        blocks = self.clip_model.transformer.resblocks[: self.cfg.text_freeze_layers]
        return [self.clip_model.token_embedding, *blocks]

    def _freeze_text_layers(self) -> None:
        """As the reference: token/positional embeddings, logit scale and the first text blocks never train."""
        if self.cfg.text_freeze_layers <= 0:
            return
        for param in (self.clip_model.positional_embedding, self.clip_model.logit_scale):
            param.requires_grad_(False)
        for module in self._frozen_text_modules():
            module.requires_grad_(False)

    def train(self, mode: bool = True) -> "CLIP4STR":
        super().train(mode)
        for module in self._frozen_text_modules():  # frozen blocks also stay in eval mode
            module.eval()
        return self

    @property
    def num_steps(self) -> int:
        return self.cfg.max_label_length + 1

    # --- encoders -------------------------------------------------------------------------------------------
    def encode_image(self, images: Tensor) -> Tensor:
        """F_i: all image tokens, [B, 1 + patches, E]."""
        return encode_image_tokens(self.clip_model, images)

    def captions(self, logits: Tensor) -> list[str]:
        """The greedy string of a decoder's logits, cut at EOS and filtered to the caption charset."""
        return [self.caption_adapter(t) for t in self.tokenizer.decode_greedy(logits.detach().argmax(-1))]

    def caption_ids(self, captions: list[str]) -> Tensor:
        """CLIP BPE ids with SOT/EOT, truncated (last id EOT) or zero-padded to the text context."""
        return self.bpe(captions, context_length=self.cfg.text_context_length).to(self.text_mask.device)

    def cross_memory(self, image_features: Tensor, text_ids: Tensor) -> Tensor:
        """F_c = concat(detached F_i, F_t) along the token axis."""
        text_features = encode_text_tokens(self.clip_model, text_ids, self.text_mask)
        return torch.cat([image_features.detach(), text_features], dim=1)

    # --- decoding -------------------------------------------------------------------------------------------
    def _decode_ar(self, decoder: Decoder, memory: Tensor, num_steps: int, early_exit: bool) -> Tensor:
        """Greedy autoregressive decoding, one position query per step; returns logits [B, S, C]."""
        batch = memory.shape[0]
        context = torch.full((batch, num_steps), self.tokenizer.pad_id, dtype=torch.long, device=memory.device)
        context[:, 0] = self.tokenizer.bos_id
        mask = causal_mask(num_steps, memory.device)
        logits = []
        for i in range(num_steps):
            step_logits = decoder(context[:, : i + 1], memory, slice(i, i + 1),
                                  query_mask=mask[i:i + 1, : i + 1], content_mask=mask[: i + 1, : i + 1])
            logits.append(step_logits)
            if i + 1 < num_steps:
                context[:, i + 1] = step_logits[:, 0].argmax(-1)
                if early_exit and (context == self.tokenizer.eos_id).any(-1).all():
                    break
        return torch.cat(logits, dim=1)

    def _refine(self, decoder: Decoder, memory: Tensor, logits: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One cloze pass over all position queries, with the previous prediction as context."""
        bos = torch.full_like(logits[:, :1, 0], self.tokenizer.bos_id, dtype=torch.long)
        context = torch.cat([bos, logits[:, :-1].argmax(-1)], dim=1)
        padding = padding_after_eos(context, self.tokenizer.eos_id)
        query_mask = cloze_mask(self.num_steps, context.shape[1], memory.device)
        content_mask = query_mask[: context.shape[1]]
        refined = decoder(context, memory, None, query_mask=query_mask, content_mask=content_mask,
                          key_padding_mask=padding)
        return refined, context, padding

    def _context_of(self, logits: Tensor) -> Tensor:
        bos = torch.full_like(logits[:, :1, 0], self.tokenizer.bos_id, dtype=torch.long)
        return torch.cat([bos, logits[:, :-1].argmax(-1)], dim=1)

    def decode(self, images: Tensor, refine_iters: int | None = None) -> DecodeTrace:
        """The reference predict-and-refine decoding, keeping every intermediate tensor."""
        refine_iters = self.cfg.refine_iters if refine_iters is None else refine_iters
        image_features = self.encode_image(images)
        # 1) visual branch: autoregressive, stops when every row has emitted EOS
        visual_logits = self._decode_ar(self.visual_decoder, image_features, self.num_steps, early_exit=True)
        steps = visual_logits.shape[1]
        # 2) cross-modal branch: memory from the visual prediction, same number of steps, no early exit
        captions = self.captions(visual_logits)
        text_ids = self.caption_ids(captions)
        memory = self.cross_memory(image_features, text_ids)
        cross_logits = self._decode_ar(self.cross_decoder, memory, steps, early_exit=False)
        trace = DecodeTrace(image_features, visual_logits, self._context_of(visual_logits), captions, text_ids,
                            memory, cross_logits, self._context_of(cross_logits))
        # 3) refinement: both branches re-read their prediction with a cloze mask; F_c is rebuilt from the
        #    refined visual prediction
        for _ in range(refine_iters):
            visual_logits, visual_context, visual_padding = self._refine(
                self.visual_decoder, image_features, visual_logits)
            captions = self.captions(visual_logits)
            text_ids = self.caption_ids(captions)
            memory = self.cross_memory(image_features, text_ids)
            cross_logits, cross_context, cross_padding = self._refine(self.cross_decoder, memory, cross_logits)
            trace.refinements.append(dict(
                visual_logits=visual_logits, visual_context=visual_context, visual_padding=visual_padding,
                captions=captions, text_ids=text_ids, cross_memory=memory, cross_logits=cross_logits,
                cross_context=cross_context, cross_padding=cross_padding))
        trace.logits = cross_logits
        return trace

    def decode_nar(self, images: Tensor, refine_iters: int | None = None) -> Tensor:
        """Non-autoregressive variant (ours, not in the reference): each branch reads all positions in one pass
        from a BOS-only context, then cloze refinement as in `decode`. Faster on long words; may be less accurate.
        """
        refine_iters = self.cfg.refine_iters if refine_iters is None else refine_iters
        image_features = self.encode_image(images)
        bos = torch.full((images.shape[0], 1), self.tokenizer.bos_id, dtype=torch.long, device=images.device)
        visual_logits = self.visual_decoder(bos, image_features)
        memory = self.cross_memory(image_features, self.caption_ids(self.captions(visual_logits)))
        cross_logits = self.cross_decoder(bos, memory)
        for _ in range(refine_iters):
            visual_logits = self._refine(self.visual_decoder, image_features, visual_logits)[0]
            memory = self.cross_memory(image_features, self.caption_ids(self.captions(visual_logits)))
            cross_logits = self._refine(self.cross_decoder, memory, cross_logits)[0]
        return cross_logits

    def forward(self, images: Tensor, refine_iters: int | None = None) -> Tensor:
        """Final logits [B, L, C] of the cross-modal decoder (reference decoding)."""
        return self.decode(images, refine_iters).logits


def with_image_width(model: CLIP4STR, width: int) -> CLIP4STR:
    """A copy of `model` that reads crops resized to `width` pixels instead of its own input width.

    Long words squeezed into a 128-pixel input get 8 pixels or fewer per character; a wider input keeps them legible.
    The image tower's position embedding is stretched along the token grid's width (linear interpolation; the class
    token's row stays), every other weight is copied. The result needs fine-tuning at the new width.
    """
    cfg = model.cfg
    patch_h, patch_w = cfg.patch_size
    if width % patch_w:
        raise ValueError(f"the input width must be a multiple of the patch width {patch_w}, not {width}")
    wider = CLIP4STR(cfg.with_(image_size=(cfg.image_size[0], width)))
    state = model.state_dict()
    key = "clip_model.visual.positional_embedding"
    rows, columns = cfg.image_size[0] // patch_h, cfg.image_size[1] // patch_w
    grid = state[key][1:].reshape(rows, columns, -1).permute(2, 0, 1)  # E x rows x columns
    stretched = nn.functional.interpolate(grid[None].float(), size=(rows, width // patch_w), mode="bilinear",
                                          align_corners=False)[0].to(grid.dtype)
    state[key] = torch.cat([state[key][:1], stretched.permute(1, 2, 0).reshape(-1, grid.shape[0])])
    wider.load_state_dict(state)
    return wider
