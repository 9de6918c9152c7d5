"""`ocrpipe eval rec|det|e2e`: accuracy on labelled data sets (formats in docs/DESIGN.md)."""
from __future__ import annotations

import json
import time

import click

from ocrpipe.cli.common import (MIN_CONF, add_options, batch_size_option, decode_options, det_precision_option,
                        det_side_option, device_option, postprocess_options, postprocess_params, rec_model_option,
                        recognizer_options, trust_option)
from ocrpipe.errors import ExitCode, UsageError
from ocrpipe.models import DEFAULT_DETECTOR

det_model_option = click.option("--det-model", default=DEFAULT_DETECTOR, show_default=True, metavar="NAME|PATH",
                                help="Detector weights.")
split_option = click.option(
    "--split", type=click.Choice(["all", "train", "val"]), default="all", show_default=True,
    help="val: only the fixed hold-out that training never sees (10% of a crop set, a third of an image set); "
         "train: the rest.")


def _report(name: str, metrics: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"set": name, **metrics}))
        return
    click.echo(f"{name}: " + "  ".join(f"{k}={v}" for k, v in metrics.items()))


@click.group()
def evaluate() -> None:
    """Measure accuracy on labelled data sets."""


@evaluate.command("rec")
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@split_option
@rec_model_option
@trust_option
@batch_size_option
@device_option
@add_options(decode_options)
@click.option("--save-preds", type=click.Path(dir_okay=False), help="Write path<TAB>label<TAB>prediction<TAB>conf.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per data set.")
def eval_rec(datasets, split, rec_model, trust_checkpoint, batch_size, device, decode, refine_iters, precision,
             save_preds, as_json):
    """Word accuracy (36-char protocol and case-sensitive), 1-NED and crops/s on DATASETS (labels.tsv sets)."""
    import numpy as np

    from ocrpipe.atomic import atomic_write_text
    from ocrpipe.metrics.rec import score_recognition
    from ocrpipe.models import load_recognizer, pick_device
    from ocrpipe.recognizer.data import load_rgb, read_labels

    device = pick_device(device)
    recognizer, _ = load_recognizer(rec_model, device, trust=trust_checkpoint,
                                    **recognizer_options(decode, refine_iters, precision, device))
    rows = []
    for dataset in datasets:
        try:
            samples = read_labels(dataset, split)
        except OSError as error:
            raise UsageError(f"{dataset}: cannot read labels.tsv ({error.strerror or error})") from error
        crops = [np.asarray(load_rgb(s.path)) for s in samples]
        started = time.perf_counter()
        results = recognizer.read(crops, batch_size)
        seconds = time.perf_counter() - started
        scores = score_recognition([r.text for r in results], [s.text for s in samples]).as_dict()
        scores["crops_per_s"] = round(len(crops) / max(seconds, 1e-9), 1)
        _report(f"{dataset} [{split}]", scores, as_json)
        rows += [f"{s.path}\t{s.text}\t{r.text}\t{r.confidence:.4f}" for s, r in zip(samples, results)]
    if save_preds:
        atomic_write_text(save_preds, "\n".join(rows) + "\n")
    return ExitCode.OK


def _load_sets(datasets, split):
    from ocrpipe.metrics.det import load_annotations

    try:
        return {d: load_annotations(d, split) for d in datasets}
    except FileNotFoundError as error:
        raise UsageError(str(error)) from error


@evaluate.command("det")
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@split_option
@det_model_option
@det_side_option
@det_precision_option
@add_options(postprocess_options)
@device_option
@click.option("--json", "as_json", is_flag=True)
def eval_det(datasets, split, det_model, det_side, det_precision, det_thresh, box_thresh, unclip_ratio, max_candidates, polygons,
             dilate, device, as_json):
    """Detection precision / recall / F at IoU >= 0.5 on DATASETS (images/ + ann/*.json)."""
    from ocrpipe import io
    from ocrpipe.metrics.det import evaluate_detection
    from ocrpipe.models import load_detector, pick_device

    params = postprocess_params(det_thresh, box_thresh, unclip_ratio, max_candidates, polygons, dilate)
    detector, _ = load_detector(det_model, pick_device(device), params=params, limit_side=det_side,
                                 precision=det_precision)
    for dataset, labelled in _load_sets(datasets, split).items():
        started = time.perf_counter()
        predictions = {stem: detector.detect([io.load_image(ann.image)])[0] for stem, ann in labelled.items()}
        metrics = evaluate_detection(predictions, labelled).as_dict()
        metrics["images_per_s"] = round(len(labelled) / (time.perf_counter() - started), 2)
        _report(dataset, metrics, as_json)
    return ExitCode.OK


@evaluate.command("e2e")
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--level", type=click.Choice(["word", "line"]), default="word", show_default=True,
              help="line: compare the layout's lines with line annotations (e.g. SROIE).")
@split_option
@det_model_option
@det_side_option
@det_precision_option
@add_options(postprocess_options)
@rec_model_option
@trust_option
@device_option
@click.option("--min-conf", "min_confs", type=click.FloatRange(0, 1), multiple=True, default=[MIN_CONF],
              show_default=True, help="Drop words read with lower confidence, as `run --min-conf`; repeat it to "
                                      "score several thresholds from one pass of the models.")
@click.option("--json", "as_json", is_flag=True)
def eval_e2e(datasets, level, split, det_model, det_side, det_precision, det_thresh, box_thresh, unclip_ratio, max_candidates,
             polygons, dilate, rec_model, trust_checkpoint, device, min_confs, as_json):
    """Detection, end-to-end (box + text) and page bag-of-words P/R/F on DATASETS."""
    from ocrpipe.metrics.det import evaluate_end_to_end
    from ocrpipe.pipeline import Pipeline

    params = postprocess_params(det_thresh, box_thresh, unclip_ratio, max_candidates, polygons, dilate)
    pipeline = Pipeline.from_pretrained(det_model, rec_model, device=device, postprocess=params,
                                        trust_checkpoint=trust_checkpoint, det_side=det_side,
                                        det_precision=det_precision, min_conf=min(min_confs))
    for dataset, labelled in _load_sets(datasets, split).items():
        started = time.perf_counter()
        words = {stem: pipeline.run(ann.image).words for stem, ann in labelled.items()}
        seconds = time.perf_counter() - started
        for min_conf in sorted(set(min_confs)):
            kept = {stem: [w for w in page_words if w.confidence >= min_conf] for stem, page_words in words.items()}
            predictions = kept if level == "word" else {stem: _line_words(w) for stem, w in kept.items()}
            totals = evaluate_end_to_end(predictions, labelled)
            metrics = {name: counts.as_dict() for name, counts in totals.items()}
            metrics["min_conf"] = min_conf
            metrics["images_per_s"] = round(len(labelled) / seconds, 2)
            if as_json:
                _report(dataset, metrics, True)
            else:
                click.echo(f"{dataset} [{level}, min-conf {min_conf:g}]")
                for name, counts in totals.items():
                    click.echo(f"  {name:13s} P={counts.precision:.4f} R={counts.recall:.4f} F={counts.f1:.4f}")
    return ExitCode.OK


def _line_words(words: list) -> list:
    """Each layout line of the page the words make, as one box with its text (for line-level annotations)."""
    from ocrpipe.layout import build_page_blocks
    from ocrpipe.types import Word

    return [Word(text=line.text, confidence=1.0, polygon=_box(line.bbox))
            for block in build_page_blocks(words) for line in block.lines]


def _box(bbox):
    x0, y0, x1, y1 = bbox
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
