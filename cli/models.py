"""`ocrpipe models list|info|import`: the weights ocrpipe knows about."""
from __future__ import annotations

import json
import shutil

import click

from ocrpipe.errors import ExitCode, ModelError


@click.group()
def models() -> None:
    """List, inspect and import model weights."""


@models.command("list")
def models_list():
    """Registry names, whether their weights are present, and where they live."""
    from ocrpipe.models import REGISTRY, spec_path

    for spec in REGISTRY.values():
        path = spec_path(spec)
        state = "present" if path.is_file() else "missing"
        origin = "shipped" if spec.shipped else "user"
        click.echo(f"{spec.name:15s} {spec.kind:10s} {origin:7s} {state:7s} {path}")
        click.echo(f"{'':15s} {spec.description}")
    return ExitCode.OK


@models.command("info")
@click.argument("model")
@click.option("--trust-checkpoint", is_flag=True)
def models_info(model, trust_checkpoint):
    """Configuration, size, sha256 and training notes of MODEL (a name or a weights file)."""
    from ocrpipe.models import REGISTRY, file_sha256, resolve
    from ocrpipe.recognizer.clip4str.checkpoint import CheckpointError, read_file

    kind = REGISTRY[model].kind if model in REGISTRY else "recognizer"
    name, path = resolve(model, kind)
    try:
        data = read_file(path, trust_checkpoint)
    except CheckpointError as error:
        raise ModelError(str(error)) from error
    if str(data.get("format", "")).startswith("ocrpipe-db"):
        kind = "detector"
    state = data.get("state_dict", data)
    info = {"name": name, "kind": kind, "path": str(path), "sha256": file_sha256(path),
            "size_mb": round(path.stat().st_size / 2**20, 2),
            "parameters": sum(v.numel() for v in state.values() if hasattr(v, "numel"))}
    info.update({key: data[key] for key in ("format", "config", "meta") if key in data})
    click.echo(json.dumps(info, indent=2, default=str))
    return ExitCode.OK


@models.command("import")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", type=click.Choice(["clip4str-base", "clip4str-large"]), required=True,
              help="Registry name the checkpoint becomes available under.")
@click.option("--trust-checkpoint", is_flag=True)
def models_import(checkpoint, name, trust_checkpoint):
    """Check an official CLIP4STR checkpoint loads, then copy it to $OCRPIPE_HOME under NAME."""
    from ocrpipe.models import REGISTRY, spec_path
    from ocrpipe.recognizer.clip4str.checkpoint import CheckpointError, load_model

    from ocrpipe.recognizer.clip4str.config import PRESETS

    try:
        model = load_model(checkpoint, trust=trust_checkpoint)
    except CheckpointError as error:
        raise ModelError(str(error)) from error
    expected = PRESETS[name]
    if (model.cfg.vision_width, model.cfg.vision_layers) != (expected.vision_width, expected.vision_layers):
        raise ModelError(f"{checkpoint}: a ViT of width {model.cfg.vision_width} and {model.cfg.vision_layers} "
                         f"layers is not {name}")
    target = spec_path(REGISTRY[name])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, target.with_name(target.name + ".tmp"))
    target.with_name(target.name + ".tmp").replace(target)
    click.echo(f"ocrpipe: {checkpoint} is now {name} ({target})", err=True)
    return ExitCode.OK


@models.command("import-ppocr")
@click.argument("onnx_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the ocrpipe weights (default: $OCRPIPE_HOME/ppocr-v4-lines.pt; the same "
                   "weights ship with ocrpipe as ppocr-v4-lines).")
def models_import_ppocr(onnx_file, output):
    """Convert PaddleOCR's PP-OCRv4 mobile DB detector (Apache-2.0) from ONNX_FILE to an ocrpipe detector.

    Without ONNX_FILE, the file inside the installed rapidocr_onnxruntime wheel is used. The result finds text LINES
    (as PaddleOCR trained it); its threshold branch is untrained. ocrpipe ships this conversion as ppocr-v4-lines
    (the line finder of the default detector); use the file with --det-model FILE, or fine-tune it with
    `ocrpipe train det --init`.
    """
    from pathlib import Path

    from ocrpipe.detectors.db.ppocr_import import GraphMismatch, find_ppocr_v4, import_ppocr_v4
    from ocrpipe.detectors.db.predictor import save_weights
    from ocrpipe.models import REGISTRY, file_sha256, ocrpipe_home

    try:
        source = Path(onnx_file) if onnx_file else find_ppocr_v4()
        model = import_ppocr_v4(source)
    except (FileNotFoundError, GraphMismatch) as error:
        raise ModelError(str(error)) from error
    target = Path(output) if output else ocrpipe_home() / REGISTRY["ppocr-v4-lines"].filename
    save_weights(model, target, {"source": source.name, "source_sha256": file_sha256(source),
                                 "licence": "Apache-2.0 (PaddleOCR); converted to PyTorch by ocrpipe",
                                 "text_unit": "line"})
    click.echo(f"ocrpipe: {source} -> {target}", err=True)
    return ExitCode.OK
