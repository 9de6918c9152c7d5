"""Options and reporting shared by the commands: device/batch options, one-line errors, progress on stderr."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

import click

MIN_CONF = 0.5  # default of `--min-conf` (run, eval e2e): words read with lower confidence are dropped

device_option = click.option(
    "--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
    help="Where the models run; auto picks CUDA when available.")
batch_size_option = click.option(
    "--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True,
    help="Word crops per recognizer batch.")
rec_model_option = click.option(
    "--rec-model", default="clip4str-tiny", show_default=True, metavar="NAME|PATH",
    help="Recognizer: a registry name (see `ocrpipe models list`) or a weights file (ours, or an official "
         "CLIP4STR .ckpt/.pt, any file name).")
trust_option = click.option(
    "--trust-checkpoint", is_flag=True,
    help="Allow weights files that need full unpickling (only for files from a source you trust).")
decode_options = [
    click.option("--decode", type=click.Choice(["ar", "nar"]), default="ar", show_default=True,
                 help="ar: the reference autoregressive decoding; nar: one parallel pass (faster, maybe less "
                      "accurate)."),
    click.option("--refine-iters", type=click.IntRange(0, 5), default=None,
                 help="Refinement passes (model default: 1)."),
    click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32", show_default=True,
                 help="Recognizer arithmetic: bf16 is faster on CPUs with AVX512-BF16 and on GPUs; fp16 needs CUDA."),
]


def recognizer_options(decode: str, refine_iters: int | None, precision: str, device: str) -> dict:
    """Keyword arguments for `Recognizer` from the options above, checked against the device."""
    if precision == "fp16" and not device.startswith("cuda"):
        raise click.UsageError(f"--precision fp16 needs a CUDA device (the models run on {device})")
    return {"decode": decode, "refine_iters": refine_iters, "precision": precision}


inputs_options = [
    click.option("-r", "--recursive", is_flag=True, help="Look into subfolders of folder inputs."),
    click.option("--glob", "glob_", metavar="PAT", help="Only files matching this pattern in folder inputs."),
    click.option("--files-from", type=click.Path(allow_dash=True), metavar="FILE|-",
                 help="Read more input paths from FILE (one per line), or from stdin with '-'."),
]


postprocess_options = [  # default None: the detector's own setting (stored with its weights, chosen on dev data)
    click.option("--det-thresh", type=click.FloatRange(0, 1),
                 help="Pixel threshold on the text probability map [default: the detector's own]."),
    click.option("--box-thresh", type=click.FloatRange(0, 1),
                 help="Minimum mean probability of a region [default: the detector's own]."),
    click.option("--unclip-ratio", type=click.FloatRange(0.5, 5),
                 help="How far detected kernels are grown back to word boxes [default: the detector's own]."),
    click.option("--max-candidates", type=click.IntRange(1),
                 help="At most this many regions per image [default: 1000]."),
    click.option("--polygons", is_flag=True, default=None,
                 help="Output polygons for curved text instead of quadrilaterals."),
    click.option("--dilate", is_flag=True, default=None,
                 help="Dilate the binary text map first (joins broken strokes) [default: the detector's own]."),
]


det_side_option = click.option(
    "--det-side", type=click.IntRange(128, 8192), metavar="PIXELS",
    help="Long side every image is resized to for detection (db-ppocr: for finding its text lines): larger ones "
         "are shrunk, smaller ones enlarged up to the detector's own limit (up to 2x); larger finds smaller text, "
         "slower. Default: the detector's own (db-ppocr: 960; db-ppocr-words: a first look at 0.75x, a second, "
         "larger one where the text is small).")


det_precision_option = click.option(
    "--det-precision", type=click.Choice(["auto", "fp32"]), default="auto", show_default=True,
    help="Detector arithmetic: auto = float16 on CUDA, bfloat16 on CPUs that have it in hardware (AVX512-BF16, "
         "AMX; 2-4x faster, same boxes on our test sets), else float32; fp32 = always float32.")


def postprocess_params(det_thresh, box_thresh, unclip_ratio, max_candidates, polygons, dilate) -> dict:
    """The post-processing settings given on the command line (the detector keeps its own for the rest)."""
    given = {"det_thresh": det_thresh, "box_thresh": box_thresh, "unclip_ratio": unclip_ratio,
             "max_candidates": max_candidates, "polygons": polygons, "dilate": dilate}
    return {name: value for name, value in given.items() if value is not None}


def add_options(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


def error_line(message: str) -> None:
    """One line on stderr, the way every ocrpipe error is reported."""
    click.echo(f"ocrpipe: error: {message}", err=True)


def show_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress_bar(total: int, enabled: bool, description: str) -> Iterator:
    """A rich progress bar on stderr, or a no-op when disabled; yields `advance()`."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)
