"""Model configurations: every dimension needed to build a CLIP4STR model, and the named presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ocrpipe.recognizer.clip4str.charset import CHARSET_36, CHARSET_94


@dataclass(frozen=True)
class Clip4StrConfig:
    # image tower (open_clip VisionTransformer)
    image_size: tuple[int, int] = (224, 224)  # H, W
    patch_size: tuple[int, int] = (16, 16)  # H, W
    # () = open_clip's patchify convolution (all published CLIP weights); otherwise the channels of a convolutional
    # stem of 3x3 stride-2 conv-BN-ReLU layers (one per halving of the square patch) that replaces it
    stem_channels: tuple[int, ...] = ()
    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    embed_dim: int = 512  # CLIP joint dimension = width of both decoders
    # text tower (open_clip CLIP text transformer)
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    vocab_size: int = 49408
    clip_context_length: int = 77  # rows of the positional embedding kept in the weights
    text_context_length: int = 16  # tokens actually fed to the text encoder
    text_freeze_layers: int = 6  # token/positional embeddings and text blocks [0, n) are frozen in training
    # decoders (PARSeq two-stream)
    decoder_depth: int = 1
    decoder_heads: int = 8
    decoder_mlp_ratio: int = 4
    dropout: float = 0.1
    max_label_length: int = 25
    # characters: the head's charset and the one the caption for the text encoder is filtered to
    charset: str = CHARSET_94
    caption_charset: str = CHARSET_36
    # input normalisation (the reference's inference path uses 0.5 / 0.5)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    # decoding defaults
    refine_iters: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Clip4StrConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for key in ("image_size", "patch_size", "stem_channels", "mean", "std"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)

    def with_(self, **changes) -> "Clip4StrConfig":
        return replace(self, **changes)


PRESETS: dict[str, Clip4StrConfig] = {
    # CLIP4STR-B: OpenAI/OpenCLIP ViT-B/16
    "clip4str-base": Clip4StrConfig(),
    # CLIP4STR-L: ViT-L/14
    "clip4str-large": Clip4StrConfig(
        patch_size=(14, 14), vision_width=1024, vision_layers=24, vision_heads=16,
        embed_dim=768, text_width=768, text_layers=12, text_heads=12),
    # The model we train and ship: 32x128 input with 8x8 patches (4x16 tokens, half the cost of PARSeq's 4x8)
    # embedded by a 3-layer convolutional stem, a small text tower trained from scratch. Its token embedding and first text block stay frozen at their random values, as the reference
    # freezes them: a random code per BPE token is input enough, and the 49408-row table costs most of the text
    # tower's training time otherwise. Sizes chosen by measurement, see ocrpipe/weights/MODEL_CARD.md.
    "clip4str-tiny": Clip4StrConfig(
        image_size=(32, 128), patch_size=(8, 8), stem_channels=(32, 64, 128), vision_width=192, vision_layers=6, vision_heads=3,
        embed_dim=192, text_width=128, text_layers=3, text_heads=2, text_freeze_layers=1,
        decoder_heads=6),
}
