"""Building blocks: the CLIP towers as CLIP4STR uses them, and PARSeq's two-stream decoder.

Parameter names follow the official checkpoints (`clip_model.*` is an open_clip `CLIP`, whose keys are the OpenAI
layout; decoders have `layers.N.*`, `text_embed.embedding`, `pos_queries`, `norm`, `head`).
"""
from __future__ import annotations

import math

import open_clip
import torch
from torch import Tensor, nn

from ocrpipe.recognizer.clip4str.config import Clip4StrConfig


def build_clip(cfg: Clip4StrConfig) -> open_clip.model.CLIP:
    """An open_clip CLIP with QuickGELU, sized by the config (weights random until loaded)."""
    vision = open_clip.model.CLIPVisionCfg(
        layers=cfg.vision_layers, width=cfg.vision_width, head_width=cfg.vision_width // cfg.vision_heads,
        patch_size=cfg.patch_size, image_size=cfg.image_size)
    text = open_clip.model.CLIPTextCfg(
        context_length=cfg.clip_context_length, vocab_size=cfg.vocab_size,
        width=cfg.text_width, heads=cfg.text_heads, layers=cfg.text_layers)
    clip = open_clip.model.CLIP(cfg.embed_dim, vision, text, quick_gelu=True)
    if cfg.stem_channels:
        clip.visual.conv1 = ConvStem(cfg.stem_channels, cfg.vision_width, cfg.patch_size)
    return clip


class ConvStem(nn.Sequential):
    """Patch embedding by a few strided convolutions instead of one patchify convolution.

    Same output grid as the patchify conv it replaces ([B, width, H / patch, W / patch]), so the rest of the open_clip
    ViT is unchanged. Early convolutions make a small ViT trained from scratch learn much sooner (Xiao et al. 2021,
    "Early Convolutions Help Transformers See Better"; SVTR embeds text images the same way).
    """

    def __init__(self, channels: tuple[int, ...], width: int, patch_size: tuple[int, int]):
        if patch_size[0] != patch_size[1] or patch_size[0] != 2 ** len(channels):
            raise ValueError(f"a stem of {len(channels)} stride-2 layers makes {2 ** len(channels)}-pixel patches, "
                             f"not {patch_size}")
        layers: list[nn.Module] = []
        previous = 3
        for out in channels:
            layers += [nn.Conv2d(previous, out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True)]
            previous = out
        layers.append(nn.Conv2d(previous, width, 1))
        super().__init__(*layers)


def encode_image_tokens(clip: open_clip.model.CLIP, images: Tensor) -> Tensor:
    """All image tokens (class token first) after ln_post and the projection: [B, 1 + patches, E]."""
    visual = clip.visual
    x = visual._embeds(images)
    x = visual.transformer(x)
    x = visual.ln_post(x)
    return x @ visual.proj


def encode_text_tokens(clip: open_clip.model.CLIP, ids: Tensor, causal_mask: Tensor) -> Tensor:
    """All text token features (pads included) after ln_final and the projection: [B, context, E].

    `ids` has the short CLIP4STR context (16); only that many positional rows and a causal mask of that size are used.
    """
    length = ids.shape[1]
    x = clip.token_embedding(ids) + clip.positional_embedding[:length]
    x = clip.transformer(x, attn_mask=causal_mask)
    x = clip.ln_final(x)
    return x @ clip.text_projection


def causal_mask(size: int, device: torch.device | str = "cpu") -> Tensor:
    """Float mask, -inf above the diagonal: position i sees positions <= i."""
    return torch.full((size, size), float("-inf"), device=device).triu(1)


class TokenEmbedding(nn.Module):
    def __init__(self, num_tokens: int, width: int):
        super().__init__()
        self.embedding = nn.Embedding(num_tokens, width)
        self.scale = math.sqrt(width)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.scale * self.embedding(tokens)


class DecoderLayer(nn.Module):
    """Pre-LN transformer decoder layer shared by the query and content streams (XLNet-style two-stream)."""

    def __init__(self, width: int, heads: int, mlp_ratio: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(width, width * mlp_ratio)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(width * mlp_ratio, width)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.norm_q = nn.LayerNorm(width)
        self.norm_c = nn.LayerNorm(width)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = nn.GELU()

    def _stream(self, x: Tensor, x_normed: Tensor, context_normed: Tensor, memory: Tensor,
                attn_mask: Tensor | None, key_padding_mask: Tensor | None) -> Tensor:
        attended = self.self_attn(x_normed, context_normed, context_normed, attn_mask=attn_mask,
                                  key_padding_mask=key_padding_mask, need_weights=False)[0]
        x = x + self.dropout1(attended)
        attended = self.cross_attn(self.norm1(x), memory, memory, need_weights=False)[0]
        x = x + self.dropout2(attended)
        hidden = self.linear2(self.dropout(self.activation(self.linear1(self.norm2(x)))))
        return x + self.dropout3(hidden)

    def forward(self, query: Tensor, content: Tensor, memory: Tensor, query_mask: Tensor | None,
                content_mask: Tensor | None, key_padding_mask: Tensor | None,
                update_content: bool = True) -> tuple[Tensor, Tensor]:
        query_normed = self.norm_q(query)
        content_normed = self.norm_c(content)
        query = self._stream(query, query_normed, content_normed, memory, query_mask, key_padding_mask)
        if update_content:
            content = self._stream(content, content_normed, content_normed, memory, content_mask,
                                   key_padding_mask)
        return query, content


class Decoder(nn.Module):
    """PARSeq decoder with its own token embedding, position queries and classification head.

    `forward(context, memory, ...)` returns logits for the requested position queries. The context always starts
    with BOS, which gets no position embedding; the token at context position c > 0 gets position query c - 1.
    """

    def __init__(self, width: int, depth: int, heads: int, mlp_ratio: int, dropout: float,
                 num_tokens: int, num_classes: int, num_positions: int):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(width, heads, mlp_ratio, dropout) for _ in range(depth))
        self.text_embed = TokenEmbedding(num_tokens, width)
        self.pos_queries = nn.Parameter(torch.empty(1, num_positions, width))
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.MultiheadAttention):
                nn.init.trunc_normal_(module.in_proj_weight, std=0.02)
                nn.init.zeros_(module.in_proj_bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.trunc_normal_(self.pos_queries, std=0.02)

    def forward(self, context: Tensor, memory: Tensor, query_positions: slice | None = None,
                query_mask: Tensor | None = None, content_mask: Tensor | None = None,
                key_padding_mask: Tensor | None = None) -> Tensor:
        batch, length = context.shape
        embedded = self.text_embed(context)
        content = torch.cat([embedded[:, :1], self.pos_queries[:, : length - 1] + embedded[:, 1:]], dim=1)
        content = self.dropout(content)
        queries = self.pos_queries[:, query_positions or slice(None)].expand(batch, -1, -1)
        query = self.dropout(queries)
        if key_padding_mask is not None:  # float, like the attention masks, so PyTorch need not mix mask types
            key_padding_mask = torch.zeros_like(key_padding_mask, dtype=query.dtype).masked_fill(
                key_padding_mask, float("-inf"))
        for i, layer in enumerate(self.layers):
            query, content = layer(query, content, memory, query_mask, content_mask, key_padding_mask,
                                   update_content=i < len(self.layers) - 1)
        return self.head(self.norm(query))
