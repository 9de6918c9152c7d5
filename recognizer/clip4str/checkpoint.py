"""Reading and writing recognizer weights.

Three kinds of file load, whatever their name:
- ours: `{"format": "ocrpipe-clip4str/1", "config", "state_dict", "meta"}` (config and charset travel with it);
- official CLIP4STR: a Lightning `.ckpt` or the released `.pt`, both `{"state_dict": {clip_model.*, visual_decoder.*,
  cross_decoder.*}}` (or that state dict bare); every dimension is inferred from the tensor shapes, heads as
  width // 64 like the reference;
- open_clip / OpenAI-layout CLIP weights (`visual.*`, `transformer.*`, ...): loaded into the CLIP towers with fresh
  decoders, to start fine-tuning.
Files are read with `torch.load(weights_only=True)`; one that needs arbitrary unpickling is refused unless trusted.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import torch
from torch import Tensor

from ocrpipe.models import file_sha256
from ocrpipe.recognizer.clip4str.charset import CHARSET_94
from ocrpipe.recognizer.clip4str.config import PRESETS, Clip4StrConfig
from ocrpipe.recognizer.clip4str.model import CLIP4STR

FORMAT = "ocrpipe-clip4str/1"
_OFFICIAL_PREFIXES = ("clip_model.", "visual_decoder.", "cross_decoder.")
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")  # torch.save's zip archive, or a legacy pickle stream (PROTO opcode)


class CheckpointError(ValueError):
    """A weights file that cannot be used, with a message naming the file and what is wrong."""


def read_file(path: str | os.PathLike, trust: bool = False) -> dict:
    """torch.load with weights_only=True; a file that needs more is refused unless `trust` is set."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file not found")
    with open(path, "rb") as f:
        head = f.read(4)
    # Anything else (a text file, a Git LFS pointer, an HTML error page) would reach the pickle reader and be
    # reported as "needs trust", which it does not.
    if not head.startswith(_TORCH_MAGIC):
        raise CheckpointError(f"{path}: not a PyTorch weights file (starts with {head!r}, neither a zip archive "
                              f"nor a pickle)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not trust:
            raise CheckpointError(
                f"{path}: file holds pickled Python objects beyond tensors; load it only if you trust its source "
                f"(--trust-checkpoint)") from error
        try:
            data = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as trusted_error:  # e.g. a class from a module that is not installed
            raise CheckpointError(f"{path}: cannot be unpickled ({trusted_error.__class__.__name__}: "
                                  f"{trusted_error})") from trusted_error
    except Exception as error:  # zip/pickle corruption, not a torch file at all
        raise CheckpointError(f"{path}: not a readable PyTorch weights file ({error.__class__.__name__})") from error
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a weights file (expected a dict, got {type(data).__name__})")
    return data


def _count_blocks(state_dict: dict[str, Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    indices = {int(m.group(1)) for key in state_dict if (m := pattern.match(key))}
    return max(indices) + 1 if indices else 0


def config_from_clip_state_dict(sd: dict[str, Tensor]) -> Clip4StrConfig:
    """Infer the tower dimensions from OpenAI-layout CLIP keys (no prefix), like the reference's build_model."""
    conv = sd["visual.conv1.weight"]
    vision_width, patch = conv.shape[0], tuple(conv.shape[-2:])
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    text_width = sd["ln_final.weight"].shape[0]
    return PRESETS["clip4str-base"].with_(
        image_size=(grid * patch[0], grid * patch[1]), patch_size=patch,
        vision_width=vision_width, vision_layers=_count_blocks(sd, "visual.transformer.resblocks."),
        vision_heads=vision_width // 64, embed_dim=sd["visual.proj"].shape[1],
        text_width=text_width, text_layers=_count_blocks(sd, "transformer.resblocks."),
        text_heads=text_width // 64, vocab_size=sd["token_embedding.weight"].shape[0],
        clip_context_length=sd["positional_embedding"].shape[0])


def config_from_official_state_dict(sd: dict[str, Tensor]) -> Clip4StrConfig:
    clip_sd = {k[len("clip_model."):]: v for k, v in sd.items() if k.startswith("clip_model.")}
    cfg = config_from_clip_state_dict(clip_sd)
    width = sd["visual_decoder.norm.weight"].shape[0]
    num_classes = sd["visual_decoder.head.weight"].shape[0]
    if num_classes != len(CHARSET_94) + 1:
        raise CheckpointError(f"head has {num_classes} classes; the official charset needs {len(CHARSET_94) + 1}")
    return cfg.with_(
        decoder_depth=_count_blocks(sd, "visual_decoder.layers."),
        decoder_mlp_ratio=sd["visual_decoder.layers.0.linear1.weight"].shape[0] // width,
        max_label_length=sd["visual_decoder.pos_queries"].shape[1] - 1)


def _strip_module_prefix(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}


def _load_strict(model: CLIP4STR, sd: dict[str, Tensor], path: Path) -> None:
    try:
        result = model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
    except (RuntimeError, AttributeError) as error:  # a tensor of the wrong shape (or not a tensor): damaged file
        detail = " ".join(line.strip() for line in str(error).splitlines()[1:2]) or type(error).__name__
        raise CheckpointError(f"{path}: weights do not fit the model ({detail[:200]})") from None
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{path}: weights do not fit the model (missing {result.missing_keys[:3]}, "
                              f"unexpected {result.unexpected_keys[:3]})")


def load_model(path: str | os.PathLike, trust: bool = False) -> CLIP4STR:
    """Build a CLIP4STR model from any supported weights file (see module docstring)."""
    path = Path(path)
    data = read_file(path, trust)
    if data.get("format") == FORMAT:
        model = CLIP4STR(Clip4StrConfig.from_dict(data["config"]))
        _load_strict(model, data["state_dict"], path)
        return model.eval()
    sd = data.get("state_dict", data)
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path}: 'state_dict' is not a dict of tensors")
    sd = _strip_module_prefix(sd)
    if any(k.startswith(_OFFICIAL_PREFIXES) for k in sd):
        try:
            cfg = config_from_official_state_dict(sd)
        except KeyError as error:
            raise CheckpointError(f"{path}: official CLIP4STR weights lack {error}") from error
        except CheckpointError as error:  # raised without the file's name
            raise CheckpointError(f"{path}: {error}") from error
        model = CLIP4STR(cfg)
        _load_strict(model, sd, path)
        return model.eval()
    if "visual.conv1.weight" in sd and "token_embedding.weight" in sd:
        raise CheckpointError(f"{path}: plain CLIP weights have no decoders; use them to start training "
                              f"(ocrpipe train rec --init-clip {path})")
    raise CheckpointError(f"{path}: not a recognizer weights file (neither ocrpipe, official CLIP4STR nor CLIP)")


def model_from_clip_weights(path: str | os.PathLike, cfg: Clip4StrConfig | None = None,
                            trust: bool = False) -> CLIP4STR:
    """A CLIP4STR whose towers hold open_clip/OpenAI-layout CLIP weights and whose decoders are fresh."""
    path = Path(path)
    data = read_file(path, trust)
    sd = _strip_module_prefix(data.get("state_dict", data))
    if "visual.conv1.weight" not in sd:
        raise CheckpointError(f"{path}: not CLIP weights (no visual.conv1.weight)")
    inferred = config_from_clip_state_dict(sd)
    if cfg is not None:
        inferred = cfg.with_(**{k: getattr(inferred, k) for k in (
            "image_size", "patch_size", "vision_width", "vision_layers", "vision_heads", "embed_dim",
            "text_width", "text_layers", "text_heads", "vocab_size", "clip_context_length")})
    model = CLIP4STR(inferred)
    clip_sd = {k: v.float() for k, v in sd.items() if k in model.clip_model.state_dict()}
    missing = set(model.clip_model.state_dict()) - set(clip_sd) - {"attn_mask"}
    if missing:
        raise CheckpointError(f"{path}: CLIP weights lack {sorted(missing)[:3]}")
    model.clip_model.load_state_dict(clip_sd, strict=False)
    return model


def save_model(model: CLIP4STR, path: str | os.PathLike, meta: dict | None = None,
               half: bool = True) -> str:
    """Write our format (fp16 by default) atomically; returns the file's sha256."""
    path = Path(path)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}
    data = {"format": FORMAT, "config": model.cfg.to_dict(), "state_dict": state, "meta": meta or {}}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(data, tmp)
    os.replace(tmp, path)
    return file_sha256(path)
