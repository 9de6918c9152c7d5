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
    import torch

    from ocrpipe.models import REGISTRY, file_sha256, resolve

    kind = REGISTRY[model].kind if model in REGISTRY else None
    if kind is None:  # a path: try the recognizer formats first, then the detector's
        from recognizer.clip4str.checkpoint import read_file
        data = read_file(model, trust_checkpoint)
        kind = "detector" if str(data.get("format", "")).startswith("ocrpipe-db") else "recognizer"
    name, path = resolve(model, kind)
    info = {"name": name, "kind": kind, "path": str(path), "sha256": file_sha256(path),
            "size_mb": round(path.stat().st_size / 2**20, 2)}
    data = torch.load(path, map_location="cpu", weights_only=not trust_checkpoint)
    state = data.get("state_dict", data)
    info["parameters"] = sum(v.numel() for v in state.values() if hasattr(v, "numel"))
    for key in ("format", "config", "meta"):
        if key in data:
            info[key] = data[key]
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
    from recognizer.clip4str.checkpoint import CheckpointError, load_model

    try:
        load_model(checkpoint, trust=trust_checkpoint)
    except CheckpointError as error:
        raise ModelError(str(error)) from error
    target = spec_path(REGISTRY[name])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, target.with_name(target.name + ".tmp"))
    target.with_name(target.name + ".tmp").replace(target)
    click.echo(f"ocrpipe: {checkpoint} is now {name} ({target})", err=True)
    return ExitCode.OK
