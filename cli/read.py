"""`ocrpipe read`: recognition only, on word crops."""
from __future__ import annotations

import json

import click

from ocrpipe.cli.common import (add_options, batch_size_option, decode_options, device_option, error_line, inputs_options,
                        rec_model_option, recognizer_options, trust_option)
from ocrpipe.errors import ExitCode, InputError, UsageError


@click.command()
@click.argument("crops", nargs=-1, type=click.Path())
@add_options(inputs_options)
@click.option("--format", "output_format", type=click.Choice(["tsv", "json"]), default="tsv", show_default=True,
              help="tsv: path<TAB>text<TAB>confidence; json: one object per line with character confidences.")
@rec_model_option
@trust_option
@batch_size_option
@device_option
@add_options(decode_options)
def read(crops, recursive, glob_, files_from, output_format, rec_model, trust_checkpoint, batch_size, device,
         decode, refine_iters, precision) -> ExitCode:
    """Read the word in each of CROPS (images or folders of images), printed in input order."""
    from ocrpipe import io
    from ocrpipe.models import load_recognizer, pick_device

    if not crops and not files_from:
        raise click.UsageError("no crops given (files, folders or --files-from)")
    items = io.collect_inputs(crops, recursive, glob_, files_from)
    if not items:
        raise UsageError(f"no image files found in {', '.join(crops) or files_from}")
    device = pick_device(device)
    recognizer, _ = load_recognizer(rec_model, device, trust=trust_checkpoint,
                                    **recognizer_options(decode, refine_iters, precision, device))
    failed = 0
    for start in range(0, len(items), batch_size * 4):  # decode a slice at a time: memory stays flat
        chunk, images = [], []
        for item in items[start:start + batch_size * 4]:
            try:
                images.append(io.load_image(item.path))
                chunk.append(item)
            except InputError as error:
                failed += 1
                error_line(str(error))
        for item, result in zip(chunk, recognizer.read(images, batch_size)):
            if output_format == "tsv":
                click.echo(f"{item.path}\t{result.text}\t{result.confidence:.4f}")
            else:
                click.echo(json.dumps({"path": str(item.path), "text": result.text,
                                       "confidence": round(result.confidence, 6),
                                       "char_confidences": result.char_confidences}, ensure_ascii=False))
    return ExitCode.SOME_INPUTS_FAILED if failed else ExitCode.OK
