"""`ocrpipe run`: full OCR on images, folders and lists of files."""
from __future__ import annotations

import contextlib
import errno
import json
import time
from dataclasses import asdict

import click

from ocrpipe.cli.common import (MIN_CONF, add_options, batch_size_option, decode_options, det_precision_option,
                        det_side_option, device_option, error_line, inputs_options, postprocess_options,
                        postprocess_params, progress_bar, rec_model_option, recognizer_options, show_progress,
                        trust_option)
from ocrpipe.errors import ExitCode, OcrpipeError, UsageError
from ocrpipe.models import DEFAULT_DETECTOR

FORMAT_NAMES = ("json", "hocr", "txt", "pdf")
# Write errors that no later file escapes: the batch stops at once (exit 4) instead of failing file after file.
OUTPUT_STOPPERS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def parse_formats(ctx, param, value: str) -> list[str]:
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMAT_NAMES]
    if unknown or not formats:
        raise click.BadParameter(f"{value!r}: choose from {', '.join(FORMAT_NAMES)} (comma-separated)")
    return list(dict.fromkeys(formats))


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@add_options(inputs_options)
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write results under DIR, mirroring the input paths (a/b.png -> DIR/a/b.json).")
@click.option("-f", "--formats", default="json,hocr,txt", show_default=True, callback=parse_formats,
              metavar="LIST", help="Output formats for -o: json, hocr, txt, pdf (the page images with an invisible, "
                                   "searchable text layer). One file per input and format; a PDF or multi-page TIFF "
                                   "gives one document with all its pages.")
@click.option("--dpi", type=click.FloatRange(36, 1200), metavar="DPI",
              help="Render PDF pages at this resolution [default: 300, lower for pages too large for 4000 px].")
@click.option("--stdout", "to_stdout", is_flag=True, help="Write one JSON object per page to stdout (JSON Lines).")
@click.option("--skip-existing", is_flag=True, help="Skip inputs whose outputs are already in DIR.")
@click.option("--on-error", type=click.Choice(["skip", "fail"]), default="skip", show_default=True,
              help="skip: report a bad input and go on (exit 3 at the end); fail: stop at the first bad input "
                   "(exit 1).")
@click.option("--draw", "draw_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write each image with its polygons and text drawn on it (PNG) under DIR.")
@device_option
@batch_size_option
@click.option("--det-model", default=DEFAULT_DETECTOR, show_default=True, metavar="NAME|PATH", help="Detector weights.")
@det_side_option
@det_precision_option
@rec_model_option
@trust_option
@add_options(postprocess_options)
@add_options(decode_options)
@click.option("--min-conf", type=click.FloatRange(0, 1), default=MIN_CONF, show_default=True,
              help="Drop words read with lower confidence.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process; ray: Ray Data workers on this machine or a Ray cluster (docs/RAY.md), "
                   "same outputs.")
@click.option("--ray-address", metavar="ADDRESS", help="With --engine ray: join this running Ray cluster "
                                                       "[default: start one on this machine].")
@click.option("--workers", type=click.IntRange(1), help="With --engine ray: how many workers, each holding the "
                                                        "models [default: one per two CPUs of the cluster].")
@click.option("--gpus-per-worker", type=click.FloatRange(0), default=0, show_default=True,
              help="With --engine ray: GPUs per worker (0: the workers run on CPUs).")
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary (errors are still printed).")
@click.option("-v", "--verbose", is_flag=True, help="One line per file with words and timings.")
def run(inputs, recursive, glob_, files_from, output_dir, formats, dpi, to_stdout, skip_existing, on_error, draw_dir,
        device, batch_size, det_model, det_side, det_precision, rec_model, trust_checkpoint, det_thresh, box_thresh,
        unclip_ratio, max_candidates, polygons, dilate, decode, refine_iters, precision, min_conf, engine, ray_address,
        workers, gpus_per_worker, quiet, verbose) -> ExitCode:
    """Detect and read the text in INPUTS (image files, PDF files or folders).

    Without -o or --stdout the recognised text is printed. Exit codes: 0 all done, 1 fatal (e.g. bad model),
    2 usage, 3 finished but some inputs failed, 4 stopped: outputs cannot be written (disk full, read-only,
    no permission; --skip-existing resumes), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """
    from ocrpipe import io

    if not inputs and not files_from:
        raise click.UsageError("no inputs given (files, folders or --files-from)")
    items = io.collect_inputs(inputs, recursive, glob_, files_from)
    if not items:
        raise UsageError(f"no image files found in {', '.join(inputs) or files_from}")
    if skip_existing and output_dir:
        items = [item for item in items if not _outputs_exist(item, output_dir, formats)]
        if not items:  # nothing to do: not even the models are loaded
            if not quiet:
                click.echo("ocrpipe: every input already has its outputs (--skip-existing)", err=True)
            return ExitCode.OK

    from ocrpipe import heap
    from ocrpipe.models import pick_device, resolve
    from ocrpipe.pipeline import Pipeline, PipelineOptions

    if engine == "ray":  # the workers' device; this process only writes
        device = "cuda" if gpus_per_worker > 0 else "cpu"
    else:
        device = pick_device(device)
    params = postprocess_params(det_thresh, box_thresh, unclip_ratio, max_candidates, polygons, dilate)
    options = PipelineOptions(batch_size=batch_size, min_conf=min_conf, pdf_dpi=dpi)
    model_options = dict(det_model=det_model, rec_model=rec_model, device=device, postprocess=params,
                         trust_checkpoint=trust_checkpoint, rec_options=recognizer_options(decode, refine_iters,
                                                                                          precision, device),
                         det_side=det_side, det_precision=det_precision)
    paths = [str(item.path) for item in items]
    if engine == "ray":
        from ocrpipe import ray_engine

        resolve(det_model, "detector")  # a missing weights file: one line, before Ray starts
        resolve(rec_model, "recognizer")
        results = ray_engine.run_many(paths, {**model_options, **asdict(options)}, workers, ray_address,
                                      gpus_per_worker)
    else:
        heap.reuse_freed_memory()  # run_many releases it after every group: fewer page faults, flat memory
        results = Pipeline.from_pretrained(**model_options, **asdict(options)).run_many(paths)
    by_path = {str(item.path): item for item in items}
    started = time.perf_counter()
    ok = failed = words = 0
    with progress_bar(len(items), show_progress(quiet), "OCR") as advance, contextlib.closing(results):
        for path, result in results:
            advance()
            problem = str(result) if isinstance(result, OcrpipeError) else None
            if problem is None:
                try:
                    _emit(by_path[path], result, output_dir, formats, to_stdout, draw_dir, len(items) > 1,
                          options)
                except OSError as error:
                    problem = f"{path}: cannot write output ({error.strerror or error})"
                    if error.errno in OUTPUT_STOPPERS:  # every later file would fail the same way
                        error_line(f"{problem}; stopping (rerun with --skip-existing to resume)")
                        return ExitCode.OUTPUT_FAILED
            if problem is not None:
                failed += 1
                error_line(problem)
                if on_error == "fail":
                    error_line("stopping at the first failed input (--on-error fail)")
                    return ExitCode.FATAL
                continue
            ok += 1
            page_words = sum(len(page.words) for page in result)
            words += page_words
            if verbose:
                timings = " ".join(f"{k}={v:.0f}ms" for k, v in result[0].timings_ms.items())
                click.echo(f"ocrpipe: {path}: {len(result)} page(s), {page_words} words, {timings}", err=True)
    if not quiet:
        click.echo(f"ocrpipe: {ok} file(s) ok, {failed} failed, {words} words, "
                   f"{time.perf_counter() - started:.1f} s", err=True)
    return ExitCode.SOME_INPUTS_FAILED if failed else ExitCode.OK


def _outputs_exist(item, output_dir: str, formats: list[str]) -> bool:
    from ocrpipe import io

    return all(io.output_path(item, output_dir, "." + name).exists() for name in formats)


def _emit(item, pages, output_dir, formats, to_stdout, draw_dir, several_inputs: bool, options) -> None:
    """Write one input file's results: JSON Lines (one object per page) or text on stdout, and one file per format
    under `output_dir` (all pages of a multi-page input in one file, written atomically)."""
    from ocrpipe import io
    from ocrpipe.atomic import atomic_open, atomic_write_text
    from ocrpipe.export import FORMATS, to_json

    if to_stdout:
        for page in pages:
            click.echo(json.dumps(to_json(page), ensure_ascii=False, separators=(",", ":")))
    elif not output_dir:
        if several_inputs:
            click.echo(f"==> {item.path} <==")
        click.echo("\f".join(page.text for page in pages))
    if output_dir:
        for name in formats:
            if name == "pdf":
                from ocrpipe.export.pdf import write_pdf

                with atomic_open(io.output_path(item, output_dir, ".pdf")) as file:
                    write_pdf(pages, _page_images(item, options), file)
            else:
                suffix, render = FORMATS[name]
                atomic_write_text(io.output_path(item, output_dir, suffix), render(pages))
    if draw_dir:
        from ocrpipe.draw import draw_page

        for page, image in zip(pages, _page_images(item, options)):
            draw_page(image, page, io.output_path(item, draw_dir, ".png", page.page_index))


def _page_images(item, options):
    """The input's pages decoded again, one at a time (outputs that show the image: PDF, drawings)."""
    from ocrpipe import io

    return (page.pixels for page in io.iter_page_images(item.path, options.max_pixels, options.pdf_dpi))
