"""Training loop for CLIP4STR (both branches, permuted sequence modelling), CPU or CUDA, resumable.

A run directory holds `last.pt` (model, optimizer, step: what `--resume` reads; the learning rate is a function of the
run's progress, so a resumed run may change `--steps`), `model.pt` and `best.pt` (our weights format, ready for
`--rec-model`) and `log.jsonl` (loss, crops/s, validation accuracy). The run ends after `steps` steps or
`time_limit` seconds, whichever comes first (`ocrpipe.budget`); the one-cycle schedule spans whichever that is.
With `ema` > 0 an exponential moving average of the parameters (torch's `AveragedModel`; buffers are copied) is what
gets validated and saved; the raw weights keep training and live only in `last.pt`.
"""
from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader
from torchvision.transforms import Compose, GaussianBlur, RandAugment, RandomApply

from ocrpipe.budget import TrainingBudget, one_cycle
from ocrpipe.metrics.rec import score_recognition
from ocrpipe.models import pick_device, training_dtype
from ocrpipe.recognizer.clip4str.checkpoint import load_model, model_from_clip_weights, save_model
from ocrpipe.recognizer.clip4str.config import PRESETS
from ocrpipe.recognizer.clip4str.ctc_aux import CtcHead, ctc_loss
from ocrpipe.recognizer.clip4str.model import CLIP4STR, with_image_width
from ocrpipe.recognizer.clip4str.psm import psm_loss
from ocrpipe.recognizer.data import MixedCropStream, collate, load_rgb, read_labels, set_size_weights
from ocrpipe.recognizer.predictor import Recognizer
from ocrpipe.recognizer.preprocess import crop_to_tensor


@dataclass
class TrainOptions:
    out_dir: str
    preset: str = "clip4str-tiny"
    real_dirs: list[str] = field(default_factory=list)  # labels.tsv sets; their fixed 10% stays out for validation
    caseless_dirs: list[str] = field(default_factory=list)  # the same, labels upper-cased whatever the print
    synth_fraction: float = 0.5  # share of synthetic words in each batch (rendered on the fly)
    real_size_power: float = 1.0  # each real set's share of the real draws ~ its size ** this (1: uniform over crops)
    font_dir: str | None = None  # fonts for the synthetic words (default: the installed training fonts)
    init_clip: str | None = None  # open_clip / OpenAI-layout CLIP weights to start from
    init: str | None = None  # recognizer weights (ours or official CLIP4STR) to continue training from
    image_width: int | None = None  # with `init`: widen the input to this many pixels (model.with_image_width)
    steps: int = 20_000
    time_limit: float | None = None  # seconds of wall clock; the run ends at whichever of the two comes first
    batch_size: int = 64
    lr: float = 5e-4  # CLIP towers; the reference uses 8.4e-5 x batch/512 when fine-tuning pretrained CLIP
    decoder_lr_scale: float = 1.0  # the reference uses 19 (pretrained towers, fresh decoders)
    weight_decay: float = 0.05
    warmup_pct: float = 0.075
    grad_clip: float = 20.0
    ema: float = 0.0  # decay of an exponential moving average of the weights (e.g. 0.999); 0 = none
    num_perms: int = 6
    ctc_weight: float = 0.0  # > 0: auxiliary CTC loss on the image tokens (ctc_aux.py; a from-scratch training aid)
    amp: bool = True  # mixed precision (ocrpipe.models.training_dtype; 1.5x faster on AVX512-BF16 CPUs)
    num_workers: int = 1
    threads: int = 0  # torch intra-op threads on CPU (0: torch's default)
    val_every: int = 500
    log_every: int = 20
    device: str = "auto"
    seed: int = 0


def _no_decay(name: str, param: torch.nn.Parameter) -> bool:
    return param.ndim < 2 or any(k in name for k in ("bn", "ln", "bias", "logit_scale", "pos_queries",
                                                     "text_embed", "class_embedding", "positional_embedding"))


def build_optimizer(model: CLIP4STR, opts: TrainOptions, aux_head: torch.nn.Module | None = None
                    ) -> tuple[torch.optim.Optimizer, list[float]]:
    """AdamW with four groups (towers / decoders x decay / no decay), as the reference; an auxiliary head
    trains with the decoders."""
    groups: dict[tuple[bool, bool], list] = {(d, n): [] for d in (False, True) for n in (False, True)}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups[(name.startswith(("visual_decoder.", "cross_decoder.")), _no_decay(name, param))].append(param)
    for name, param in aux_head.named_parameters() if aux_head is not None else ():
        groups[(True, _no_decay(name, param))].append(param)
    param_groups, max_lrs = [], []
    for (is_decoder, no_decay), params in groups.items():
        lr = opts.lr * (opts.decoder_lr_scale if is_decoder else 1.0)
        param_groups.append({"params": params, "lr": lr, "weight_decay": 0.0 if no_decay else opts.weight_decay})
        max_lrs.append(lr)
    return torch.optim.AdamW(param_groups, betas=(0.9, 0.98), eps=1e-6), max_lrs


def real_crop_augment() -> Compose:
    """The reference augments with RandAugment (3 ops, magnitude 5) plus blur; torchvision's is close enough."""
    return Compose([RandAugment(num_ops=3, magnitude=5), RandomApply([GaussianBlur(5, (0.1, 1.5))], p=0.2)])


def _single_threaded_worker(_: int) -> None:
    """Data workers render and augment one sample at a time; thread pools there only fight the training."""
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def validate(model: CLIP4STR, val_sets: dict[str, list], batch_size: int = 128) -> dict[str, dict]:
    recognizer = Recognizer(model, device=next(model.parameters()).device)
    scores = {}
    for name, samples in val_sets.items():
        crops = [np.asarray(load_rgb(s.path)) for s in samples]
        predictions = [r.text for r in recognizer.read(crops, batch_size)]
        scores[name] = score_recognition(predictions, [s.text for s in samples]).as_dict()
    model.train()
    return scores


def update_ema(ema: AveragedModel, model: torch.nn.Module) -> None:
    """Average the parameters and copy the buffers: BN statistics follow the model, and the text tower's causal
    attention mask holds -inf, which averaging (lerp) would turn into NaN."""
    ema.update_parameters(model)
    with torch.no_grad():
        for averaged, current in zip(ema.module.buffers(), model.buffers()):
            averaged.copy_(current)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def train(opts: TrainOptions, resume: bool = False) -> Path:
    # Ctrl-C and `kill` both end the run through the checkpointing path (a background job may start with SIGINT
    # ignored, so set both handlers explicitly).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = torch.device(pick_device(opts.device))
    torch.manual_seed(opts.seed)
    # From CLIP weights, every tower dimension comes from the file and the rest from the reference (base) settings.
    if opts.init:
        model = load_model(opts.init)
        if opts.image_width and opts.image_width != model.cfg.image_size[1]:
            model = with_image_width(model, opts.image_width)
    elif opts.init_clip:
        model = model_from_clip_weights(opts.init_clip)
    else:
        model = CLIP4STR(PRESETS[opts.preset])
    cfg = model.cfg
    model.to(device).train()
    ctc_head = None
    if opts.ctc_weight > 0:
        grid = (cfg.image_size[0] // cfg.patch_size[0], cfg.image_size[1] // cfg.patch_size[1])
        ctc_head = CtcHead(cfg.embed_dim, model.tokenizer.num_classes, grid).to(device).train()
    optimizer, max_lrs = build_optimizer(model, opts, ctc_head)
    amp_dtype = training_dtype(device)
    amp = opts.amp and amp_dtype is not None  # a CPU without native bf16 trains in float32
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)  # bf16 needs no scaling
    ema = None
    if opts.ema > 0:
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(opts.ema))
    step, best = 0, -1.0
    if resume and (out / "last.pt").exists():
        state = torch.load(out / "last.pt", map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        if ctc_head is not None and "ctc_head" in state:
            ctc_head.load_state_dict(state["ctc_head"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None and "ema" in state:
            ema.load_state_dict(state["ema"])
        step, best = state["step"], state["best"]
        print(f"resumed from {out / 'last.pt'} at step {step}", flush=True)

    real_sets = [(d, False) for d in opts.real_dirs] + [(d, True) for d in opts.caseless_dirs]
    val_sets = {Path(d).name: read_labels(d, "val") for d, _ in real_sets}
    train_sets = [read_labels(d, "train", caseless) for d, caseless in real_sets]
    real_train = [s for samples in train_sets for s in samples]
    weights = None
    if opts.real_size_power != 1.0:
        per_set = set_size_weights([len(samples) for samples in train_sets], opts.real_size_power)
        weights = [w for samples, w in zip(train_sets, per_set) for _ in samples]
    synth_sample = None
    if opts.synth_fraction > 0:
        from ocrpipe.synth.render import WordRenderer
        synth_sample = WordRenderer(seed=opts.seed, font_dir=opts.font_dir).sample
    to_tensor = partial(crop_to_tensor, image_size=cfg.image_size, mean=cfg.mean, std=cfg.std)
    stream = MixedCropStream(real_train, to_tensor, cfg.charset, cfg.max_label_length, opts.synth_fraction,
                             synth_sample, real_crop_augment(), seed=opts.seed + step, weights=weights)
    loader = DataLoader(stream, batch_size=opts.batch_size, collate_fn=collate, num_workers=opts.num_workers,
                        persistent_workers=opts.num_workers > 0, worker_init_fn=_single_threaded_worker,
                        pin_memory=device.type == "cuda")

    def save_checkpoint() -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best": best,
                 "options": asdict(opts)}
        if ctc_head is not None:
            state["ctc_head"] = ctc_head.state_dict()
        if ema is not None:
            state["ema"] = ema.state_dict()
        torch.save(state, out / "last.tmp")
        (out / "last.tmp").replace(out / "last.pt")

    log = open(out / "log.jsonl", "a", encoding="utf-8")

    def write(record: dict) -> None:
        print(json.dumps(record), file=log, flush=True)
        print(json.dumps(record), flush=True)

    def validate_and_save() -> None:
        nonlocal best
        kept = ema.module if ema is not None else model  # the weights that get judged and saved
        kept.eval()
        scores = validate(kept, val_sets)
        mean_acc = sum(s["accuracy_36"] for s in scores.values()) / max(1, len(scores))
        meta = {"step": step, "validation": scores, "options": asdict(opts)}
        save_model(kept, out / "model.pt", meta)
        if val_sets and mean_acc > best:
            best = mean_acc
            save_model(kept, out / "best.pt", meta)
        save_checkpoint()
        write({"step": step, "validation": scores, "mean_accuracy_36": round(mean_acc, 4)})

    budget = TrainingBudget(opts.steps, opts.time_limit)
    seen, validated_at = 0, step
    try:
        for images, labels, caseless in loader:
            if budget.done(step):
                break
            lr_scale = one_cycle(budget.progress(step), opts.warmup_pct)
            for group, max_lr in zip(optimizer.param_groups, max_lrs):
                group["lr"] = max_lr * lr_scale
            images = images.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
                loss = psm_loss(model, images, labels, num_perms=opts.num_perms, caseless=caseless)
                total = loss.total
                if ctc_head is not None:
                    aux = ctc_loss(ctc_head, loss.image_features, model.tokenizer, labels, caseless)
                    total = total + opts.ctc_weight * aux
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if ema is not None:
                update_ema(ema, model)
            step += 1
            seen += len(labels)
            if step % opts.log_every == 0:
                record = {"step": step, "loss": round(total.item(), 4), "visual": round(loss.visual.item(), 4),
                          "cross": round(loss.cross.item(), 4), "lr": optimizer.param_groups[0]["lr"],
                          "crops_per_s": round(seen / budget.elapsed(), 1), "elapsed_s": round(budget.elapsed())}
                if ctc_head is not None:
                    record["ctc"] = round(aux.item(), 4)
                write(record)
            if step % opts.val_every == 0:
                validate_and_save()
                validated_at = step
        if validated_at != step:  # the run ended between two validations
            validate_and_save()
    except KeyboardInterrupt:
        print(f"interrupted at step {step}; saving {out / 'last.pt'}", flush=True)
    finally:
        save_checkpoint()
        log.close()
    return out
