"""`ocrpipe train rec|det`: resumable training on CPU or CUDA, in mixed precision (bfloat16; float16 on old GPUs)."""
from __future__ import annotations

import click

from ocrpipe.errors import ExitCode

AMP_HELP = ("Mixed precision: bfloat16 (float16 with loss scaling on GPUs older than Ampere); 1.5-2x faster on "
            "CPUs with AVX512-BF16.")
FONT_DIR_HELP = "Fonts for the synthetic data (default: the installed fonts; their training split either way)."
REAL_REC_HELP = "A labels.tsv crop set to train on (repeatable); its fixed 10% validation part is held out."
TIME_LIMIT_HELP = ("End the run after this many seconds if --steps has not ended it; the learning-rate schedule "
                   "spans whichever ends first, so the run still anneals fully.")


@click.group()
def train() -> None:
    """Train the recognizer or the detector."""


@train.command("rec")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--real", "real_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help=REAL_REC_HELP)
@click.option("--real-caseless", "caseless_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Like --real, for a set whose labels were upper-cased whatever the print (e.g. SROIE crops): "
                   "its letters are scored case-insensitively.")
@click.option("--synth-fraction", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of synthetic words (rendered on the fly) in the training stream.")
@click.option("--real-size-power", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="Each real set gets a share of the real crops drawn in proportion to its size to this power: 1 = "
                   "every crop equally likely, 0.5 = by the square root of the size (big sets dominate less), 0 = "
                   "every set equally often.")
@click.option("--font-dir", type=click.Path(exists=True, file_okay=False), help=FONT_DIR_HELP)
@click.option("--preset", default="clip4str-tiny", show_default=True,
              type=click.Choice(["clip4str-tiny", "clip4str-base", "clip4str-large"]))
@click.option("--init-clip", type=click.Path(exists=True, dir_okay=False),
              help="Start the towers from open_clip / OpenAI-layout CLIP weights (fine-tuning); the model then "
                   "takes its sizes from the file and the reference's settings, not from --preset.")
@click.option("--init", "init_weights", type=click.Path(exists=True, dir_okay=False),
              help="Continue from recognizer weights (e.g. the shipped clip4str-tiny.pt) with a fresh optimizer.")
@click.option("--image-width", type=click.IntRange(16, 1024), metavar="PIXELS",
              help="With --init: widen the model's input to this many pixels (e.g. 256 for long numbers; the "
                   "position embedding is stretched, then fine-tuned).")
@click.option("--steps", type=click.IntRange(1), default=20000, show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=1), help=TIME_LIMIT_HELP)
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--lr", type=float, default=5e-4, show_default=True, help="Peak learning rate of the CLIP towers.")
@click.option("--decoder-lr-scale", type=float, default=1.0, show_default=True,
              help="Decoder learning rate = lr x this (the reference uses 19 on pretrained CLIP).")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True, metavar="DECAY",
              help="Validate and save an exponential moving average of the weights with this decay (e.g. 0.999); "
                   "0 = the raw weights.")
@click.option("--perms", type=click.IntRange(1), default=6, show_default=True,
              help="Permutations per batch (the reference uses 6; 2 = left-to-right + right-to-left, cheaper).")
@click.option("--ctc-weight", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Weight of an auxiliary CTC loss on the image tokens (speeds up training from scratch; the head "
                   "is not kept in the weights).")
@click.option("--val-every", type=click.IntRange(1), default=500, show_default=True)
@click.option("--workers", type=click.IntRange(0), default=1, show_default=True, help="Data-loader processes.")
@click.option("--threads", type=click.IntRange(0), default=0, help="CPU threads for torch (0: default).")
@click.option("--device", default="auto", show_default=True)
@click.option("--amp/--no-amp", default=True, show_default=True, help=AMP_HELP)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT_DIR/last.pt.")
def train_rec(out_dir, real_dirs, caseless_dirs, synth_fraction, real_size_power, font_dir, preset, init_clip,
              init_weights, image_width, steps, time_limit, batch_size, lr, decoder_lr_scale, ema, perms, ctc_weight,
              val_every, workers, threads, device, amp, seed, resume):
    """Train CLIP4STR (both branches, permuted sequence modelling) into OUT_DIR."""
    from ocrpipe.recognizer.clip4str.train import TrainOptions, train as run_training

    if image_width and not init_weights:
        raise click.UsageError("--image-width widens an existing model: give it with --init")
    options = TrainOptions(out_dir=out_dir, preset=preset, real_dirs=list(real_dirs),
                           caseless_dirs=list(caseless_dirs), synth_fraction=synth_fraction,
                           real_size_power=real_size_power, font_dir=font_dir,
                           init_clip=init_clip, init=init_weights, image_width=image_width, steps=steps, time_limit=time_limit,
                           batch_size=batch_size, lr=lr,
                           decoder_lr_scale=decoder_lr_scale, ema=ema, num_perms=perms, ctc_weight=ctc_weight,
                           num_workers=workers, threads=threads, val_every=val_every, device=device, amp=amp,
                           seed=seed)
    run_training(options, resume=resume)
    return ExitCode.OK


@train.command("det")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--ann", "ann_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A data set with images/ and ann/*.json (repeatable).")
@click.option("--synth-fraction", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of synthetic scenes and pages (rendered on the fly).")
@click.option("--font-dir", type=click.Path(exists=True, file_okay=False), help=FONT_DIR_HELP)
@click.option("--init", "init_weights", type=click.Path(exists=True, dir_okay=False),
              help="Start from these detector weights (fine-tuning).")
@click.option("--steps", type=click.IntRange(1), default=20000, show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=1), help=TIME_LIMIT_HELP)
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True)
@click.option("--crop-size", type=click.IntRange(64), default=640, show_default=True,
              help="Side of the square training crops (a multiple of 32).")
@click.option("--text-focus", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="Chance that a training crop is centred near a text instance (the rest are anywhere).")
@click.option("--scale-range", type=(click.FloatRange(min=0.05), click.FloatRange(min=0.05)), default=(0.5, 3.0),
              show_default=True, metavar="LOW HIGH",
              help="Random rescale of each training image, drawn log-uniformly (near 1 for data already at the "
                   "text height inference uses, e.g. scripts/line_canvases.py).")
@click.option("--ann-split", type=click.Choice(["train", "all"]), default="train", show_default=True,
              help="Train on the train two-thirds of each --ann set (the rest is for validation) or on all of it "
                   "(sets made from training images only, e.g. scripts/line_canvases.py).")
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--backbone-lr-scale", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="The backbone learns at lr x this (e.g. 0.1 to keep more of a pretrained backbone, --init).")
@click.option("--warmup", type=click.IntRange(1), default=200, show_default=True,
              help="Steps of linear learning-rate warm-up.")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(1), default=500, show_default=True)
@click.option("--threads", type=click.IntRange(0), default=0, help="CPU threads for torch (0: default).")
@click.option("--device", default="auto", show_default=True)
@click.option("--amp/--no-amp", default=True, show_default=True, help=AMP_HELP)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT_DIR/checkpoint.pt.")
def train_det(out_dir, ann_dirs, synth_fraction, font_dir, init_weights, steps, time_limit, batch_size, crop_size,
              text_focus, scale_range, ann_split, lr, backbone_lr_scale, warmup, workers, checkpoint_every, threads,
              device, amp, seed, resume):
    """Train the DB detector into OUT_DIR (weights: OUT_DIR/db.pt)."""
    import torch

    from ocrpipe.detectors.db.data import AugmentConfig
    from ocrpipe.detectors.db.train import train_db
    from ocrpipe.synth.scene import SceneRenderer

    if crop_size % 32:
        raise click.BadParameter(f"{crop_size} is not a multiple of 32", param_hint="--crop-size")
    if scale_range[0] > scale_range[1]:
        raise click.BadParameter(f"{scale_range[0]:g} > {scale_range[1]:g}", param_hint="--scale-range")
    if threads:
        torch.set_num_threads(threads)

    renderer = SceneRenderer(seed, font_dir=font_dir).sample if synth_fraction > 0 else None
    train_db(out_dir, ann_dirs=ann_dirs, ann_split=ann_split, renderer=renderer,
             renderer_fraction=synth_fraction,
             init_weights=init_weights, steps=steps, time_limit=time_limit, batch_size=batch_size,
             augment=AugmentConfig(crop_size=crop_size, text_focus=text_focus, scale_range=scale_range), lr=lr,
             backbone_lr_scale=backbone_lr_scale, warmup=warmup,
             workers=workers,
             checkpoint_every=checkpoint_every, device=device, amp=amp, seed=seed, resume=resume)
    return ExitCode.OK
