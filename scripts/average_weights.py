"""Average the weights of two recognizers of the same architecture (a "model soup"): each floating-point tensor
becomes (1 - alpha) * FIRST + alpha * SECOND; config and meta come from SECOND, with a note of what was averaged.

A continued training run often gains on the data it saw most and forgets a little elsewhere; the mean of the run and
its starting point kept most of the gain and none of the loss for v11 (MODEL_CARD.md). The run's own validation
figures no longer describe the result, so they are left out of its meta: validate the output.

    python scripts/average_weights.py v10.pt runs/rec_v11/model.pt -o ocrpipe/weights/clip4str-tiny.pt
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import torch


def average(first: dict, second: dict, alpha: float) -> dict:
    """``second`` with every floating-point tensor of its state dict moved towards ``first`` by 1 - alpha."""
    if first["config"] != second["config"] or first["state_dict"].keys() != second["state_dict"].keys():
        raise SystemExit("error: the two files are not the same architecture")
    mixed = {name: ((1 - alpha) * first["state_dict"][name].float() + alpha * tensor.float()).to(tensor.dtype)
             if tensor.is_floating_point() else tensor
             for name, tensor in second["state_dict"].items()}
    return {**second, "state_dict": mixed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of SECOND")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    first, second = (torch.load(path, map_location="cpu", weights_only=True) for path in (args.first, args.second))
    result = average(first, second, args.alpha)
    meta = {key: value for key, value in second.get("meta", {}).items() if key != "validation"}
    result["meta"] = {**meta,
                      "averaged": {"alpha": args.alpha,
                                   "first_sha256": hashlib.sha256(args.first.read_bytes()).hexdigest(),
                                   "second_sha256": hashlib.sha256(args.second.read_bytes()).hexdigest()}}
    torch.save(result, args.output)
    print(f"{args.output}: {1 - args.alpha:g} x {args.first.name} + {args.alpha:g} x {args.second.name}")


if __name__ == "__main__":
    main()
