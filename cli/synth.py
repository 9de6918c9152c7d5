"""`ocrpipe synth rec|det`: write synthetic training data (deterministic by seed)."""
from __future__ import annotations

import click

from ocrpipe.errors import ExitCode

n_option = click.option("-n", "count", type=click.IntRange(1), required=True, help="How many samples.")
seed_option = click.option("--seed", type=int, default=0, show_default=True)
split_option = click.option("--split", type=click.Choice(["train", "val"]), default="train", show_default=True,
                            help="Render with the training fonts or the held-out validation fonts.")
workers_option = click.option("--workers", type=click.IntRange(1), default=1, show_default=True)


@click.group()
def synth() -> None:
    """Write synthetic training data."""


@synth.command("rec")
@click.argument("out_dir", type=click.Path(file_okay=False))
@n_option
@seed_option
@split_option
@workers_option
def synth_rec(out_dir, count, seed, split, workers):
    """Word crops with OUT_DIR/labels.tsv."""
    from ocrpipe.synth.datasets import write_rec_dataset

    labels = write_rec_dataset(out_dir, count, seed=seed, split=split, workers=workers, progress=True)
    click.echo(f"ocrpipe: wrote {count} crops, labels in {labels}", err=True)
    return ExitCode.OK


@synth.command("det")
@click.argument("out_dir", type=click.Path(file_okay=False))
@n_option
@seed_option
@split_option
@workers_option
def synth_det(out_dir, count, seed, split, workers):
    """Full images with word polygons in OUT_DIR/images and OUT_DIR/ann/*.json."""
    from ocrpipe.synth.datasets import write_det_dataset

    words = write_det_dataset(out_dir, count, seed=seed, split=split, workers=workers, progress=True)
    click.echo(f"ocrpipe: wrote {count} images with {words} words to {out_dir}", err=True)
    return ExitCode.OK
