"""Training loop for the DB detector (CPU or CUDA, resumable).

    train_db("runs/db", ann_dirs=["../shared/data/e2e/sroie_dev"], steps=2000, device="auto")

writes into ``out_dir``:

* ``checkpoint.pt`` -- model, optimizer, AMP scaler and step (``ocrpipe-db-ckpt/1``), every ``checkpoint_every``
  steps, at the end and on Ctrl-C; ``resume=True`` continues from it.
* ``db.pt`` -- the trained weights in the ``ocrpipe-db/1`` format that :class:`DBDetector` loads.
* ``log.tsv`` -- step, losses, learning rate, seconds.

Data: ann/*.json folders and/or a renderer (see ``data.py``, which also explains why line boxes are cut into
words). Learning rate: linear warm-up, then polynomial decay (power 0.9) to 0, as DB does, over the run's progress
(``ocrpipe.budget``: steps, or a wall-clock ``time_limit`` if that ends first).
"""
from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch.utils.data import DataLoader

from ocrpipe.detectors.db.data import AugmentConfig, Renderer, TrainingStream
from ocrpipe.detectors.db.loss import DBLoss, LossWeights
from ocrpipe.detectors.db.model import DBConfig, DBNet
from ocrpipe.detectors.db.predictor import load_weights, resolve_device, save_weights
from ocrpipe.budget import TrainingBudget
from ocrpipe.errors import Terminated
from ocrpipe.metrics.det import load_annotations
from ocrpipe.models import training_dtype

CHECKPOINT_FORMAT = "ocrpipe-db-ckpt/1"


def learning_rate(step: int, progress: float, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak`` over the first ``warmup`` steps, then ``peak * (1 - progress) ** 0.9``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, 1.0 - progress) ** 0.9


def _single_threaded_worker(_: int) -> None:
    """Each data worker renders and augments one sample at a time; OpenCV's own thread pool would only contend."""
    import cv2

    cv2.setNumThreads(1)


def _save_checkpoint(path: Path, model: DBNet, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                     step: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "config": model.config.to_dict(), "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(), "step": step}, tmp)
    tmp.replace(path)


def _load_checkpoint(path: Path, device: torch.device) -> dict:
    state = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an ocrpipe DB training checkpoint")
    return state


def train_db(out_dir: str | Path, *, ann_dirs: Sequence[str | Path] = (), ann_split: str = "train",
             renderer: Renderer | None = None, renderer_fraction: float = 0.5, config: DBConfig | None = None,
             init_weights: str | Path | None = None, steps: int = 20_000, time_limit: float | None = None,
             batch_size: int = 8, augment: AugmentConfig = AugmentConfig(),
             text_unit: str = "word", optimizer: str = "adamw", lr: float = 1e-3, backbone_lr_scale: float = 1.0,
             weight_decay: float = 1e-4,
             warmup: int = 200, loss_weights: LossWeights = LossWeights(), device: str = "auto", amp: bool = True,
             workers: int = 0, checkpoint_every: int = 1000, log_every: int = 20, resume: bool = False,
             seed: int = 0, log: Callable[[str], None] = print) -> Path:
    """Train a DB detector; returns the path of the ``db.pt`` weights written at the end.

    The run ends after ``steps`` steps or ``time_limit`` seconds, whichever comes first; the schedule anneals over
    whichever that is.

    ``ann_split`` picks the part of each ann folder to train on: "train" leaves out the fixed validation third
    (see ``ocrpipe.metrics.det.load_annotations``), "all" uses everything.
    The model comes from, in order: the checkpoint when resuming, ``init_weights`` (an ocrpipe-db/1 file, to
    fine-tune), or a fresh ``DBNet(config)``. ``backbone_lr_scale`` multiplies the backbone's learning rate (below 1
    keeps more of a pretrained backbone while the neck and heads adapt). ``optimizer`` is ``"adamw"`` or ``"sgd"`` (momentum 0.9). With ``amp``,
    the network runs in mixed precision: bfloat16, or float16 with gradient scaling on GPUs without bfloat16
    (``ocrpipe.models.training_dtype``). Ctrl-C (or SIGTERM under the CLI) saves a checkpoint and the weights, then re-raises.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / "checkpoint.pt"
    dev = resolve_device(device)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick its fastest kernels once

    state = _load_checkpoint(checkpoint_path, dev) if resume and checkpoint_path.exists() else None
    if state is not None:
        model = DBNet(DBConfig.from_dict(state["config"]))
        model.load_state_dict(state["model"])
    elif init_weights is not None:
        model, _ = load_weights(init_weights)
    else:
        model = DBNet(config)
    model.to(dev).train()

    backbone = set(model.backbone.parameters())
    groups = [{"params": list(model.backbone.parameters()), "lr_scale": backbone_lr_scale},
              {"params": [p for p in model.parameters() if p not in backbone], "lr_scale": 1.0}]
    if optimizer == "adamw":
        opt: torch.optim.Optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {optimizer!r}")
    amp_dtype = training_dtype(dev)
    amp = amp and amp_dtype is not None  # a CPU without native bf16 trains in float32
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)  # bfloat16 needs no scaling
    step = 0
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step = int(state["step"])
        log(f"resumed from {checkpoint_path} at step {step}")

    annotations = [ann for d in ann_dirs for ann in load_annotations(d, split=ann_split).values()]
    stream = TrainingStream(annotations, renderer, renderer_fraction, augment, text_unit, seed + step,
                            model.config.mean, model.config.std)
    batches = iter(DataLoader(stream, batch_size=batch_size, num_workers=workers, persistent_workers=workers > 0,
                              worker_init_fn=_single_threaded_worker, pin_memory=dev.type == "cuda"))
    criterion = DBLoss(loss_weights)
    autocast = torch.autocast(dev.type, dtype=amp_dtype) if amp else nullcontext()
    meta = {"steps": steps, "data": [str(d) for d in ann_dirs] + (["renderer"] if renderer else []),
            "text_unit": text_unit}

    def save() -> None:
        _save_checkpoint(checkpoint_path, model, opt, scaler, step)
        save_weights(model, out / "db.pt", {**meta, "trained_steps": step})

    log_file = (out / "log.tsv").open("a", encoding="utf-8")
    if log_file.tell() == 0:
        log_file.write("step\tloss\tprob\tbinary\tthresh\tlr\tseconds\n")
    budget = TrainingBudget(steps, time_limit)
    try:
        while not budget.done(step):
            batch = {k: v.to(dev, non_blocking=True) for k, v in next(batches).items()}
            for group in opt.param_groups:
                group["lr"] = group["lr_scale"] * learning_rate(step, budget.progress(step), lr, warmup)
            with autocast:
                outputs = model(batch["image"])
            loss, parts = criterion(outputs, batch)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss is {loss.item()} at step {step}")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            step += 1
            if step % log_every == 0 or budget.done(step):
                seconds = budget.elapsed()
                log_file.write(f"{step}\t{loss.item():.4f}\t{parts['prob']:.4f}\t{parts['binary']:.4f}\t"
                               f"{parts['thresh']:.4f}\t{opt.param_groups[-1]['lr']:.2e}\t{seconds:.1f}\n")
                log_file.flush()
                log(f"step {step}/{steps} loss {loss.item():.4f} (prob {parts['prob']:.3f} binary "
                    f"{parts['binary']:.3f} thresh {parts['thresh']:.3f}) lr {opt.param_groups[-1]['lr']:.2e} "
                    f"{seconds:.0f}s")
            if step % checkpoint_every == 0:
                save()
    except (KeyboardInterrupt, Terminated):  # Ctrl-C or SIGTERM (ocrpipe.cli.main)
        save()
        log(f"interrupted at step {step}: checkpoint saved in {out}")
        raise
    finally:
        log_file.close()
    save()
    return out / "db.pt"
