"""`ocrpipe train rec|det`: resumable training on CPU or CUDA (AMP on CUDA)."""
from __future__ import annotations

import click

from ocrpipe.errors import ExitCode

REAL_REC_HELP = "A labels.tsv crop set to train on (repeatable); its fixed 10% validation part is held out."


@click.group()
def train() -> None:
    """Train the recognizer or the detector."""


@train.command("rec")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--real", "real_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help=REAL_REC_HELP)
@click.option("--synth-fraction", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of synthetic words (rendered on the fly) in the training stream.")
@click.option("--preset", default="clip4str-tiny", show_default=True,
              type=click.Choice(["clip4str-tiny", "clip4str-base", "clip4str-large"]))
@click.option("--init-clip", type=click.Path(exists=True, dir_okay=False),
              help="Start the towers from open_clip / OpenAI-layout CLIP weights (fine-tuning); the model then "
                   "takes its sizes from the file and the reference's settings, not from --preset.")
@click.option("--init", "init_weights", type=click.Path(exists=True, dir_okay=False),
              help="Continue from recognizer weights (e.g. the shipped clip4str-tiny.pt) with a fresh optimizer.")
@click.option("--steps", type=click.IntRange(1), default=20000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--lr", type=float, default=5e-4, show_default=True, help="Peak learning rate of the CLIP towers.")
@click.option("--decoder-lr-scale", type=float, default=1.0, show_default=True,
              help="Decoder learning rate = lr x this (the reference uses 19 on pretrained CLIP).")
@click.option("--perms", type=click.IntRange(1), default=6, show_default=True,
              help="Permutations per batch (the reference uses 6; 2 = left-to-right + right-to-left, cheaper).")
@click.option("--val-every", type=click.IntRange(1), default=500, show_default=True)
@click.option("--workers", type=click.IntRange(0), default=1, show_default=True, help="Data-loader processes.")
@click.option("--threads", type=click.IntRange(0), default=0, help="CPU threads for torch (0: default).")
@click.option("--device", default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT_DIR/last.pt.")
def train_rec(out_dir, real_dirs, synth_fraction, preset, init_clip, init_weights, steps, batch_size, lr,
              decoder_lr_scale, perms, val_every, workers, threads, device, seed, resume):
    """Train CLIP4STR (both branches, permuted sequence modelling) into OUT_DIR."""
    from recognizer.clip4str.train import TrainOptions, train as run_training

    options = TrainOptions(out_dir=out_dir, preset=preset, real_dirs=list(real_dirs), synth_fraction=synth_fraction,
                           init_clip=init_clip, init=init_weights, steps=steps, batch_size=batch_size, lr=lr,
                           decoder_lr_scale=decoder_lr_scale, num_perms=perms, num_workers=workers, threads=threads,
                           val_every=val_every, device=device, seed=seed)
    run_training(options, resume=resume)
    return ExitCode.OK


@train.command("det")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--ann", "ann_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A data set with images/ and ann/*.json (repeatable).")
@click.option("--synth-fraction", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of synthetic scenes and pages (rendered on the fly).")
@click.option("--init", "init_weights", type=click.Path(exists=True, dir_okay=False),
              help="Start from these detector weights (fine-tuning).")
@click.option("--steps", type=click.IntRange(1), default=20000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(1), default=500, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT_DIR/checkpoint.pt.")
def train_det(out_dir, ann_dirs, synth_fraction, init_weights, steps, batch_size, lr, workers, checkpoint_every,
              device, seed, resume):
    """Train the DB detector into OUT_DIR (weights: OUT_DIR/db.pt)."""
    from detectors.db.train import train_db
    from ocrpipe.synth.scene import SceneRenderer

    renderer = SceneRenderer(seed).sample if synth_fraction > 0 else None
    train_db(out_dir, ann_dirs=ann_dirs, renderer=renderer, renderer_fraction=synth_fraction,
             init_weights=init_weights, steps=steps, batch_size=batch_size, lr=lr, workers=workers,
             checkpoint_every=checkpoint_every, device=device, seed=seed, resume=resume)
    return ExitCode.OK
