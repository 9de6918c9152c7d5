"""Pack what a recognizer training round on the lent GPU machine needs, within what may travel there.

    python scripts/pack_round.py pack round                     # here: round/{crops.zip,fonts.tar.xz,wheels/}
    python3 scripts/pack_round.py unpack round/crops.zip DEST   # there (scripts/device_round.sh): DEST/rec/...

The GPU machine has torch but not open_clip_torch, ftfy, wcwidth, shapely or pyclipper; no fonts; no ../shared and
no data/; and the repository travels in at most 64 MiB, its tracked files (with the shipped weights) included. So:

* `wheels/`: the missing packages as Python 3.12 manylinux wheels, the versions installed here (`pip download`).
* `fonts.tar.xz`: one font of every training superfamily and of every validation superfamily
  (`ocrpipe.synth.fonts`), the synthetic words' type designs at one style each.
* `crops.zip`: the real crop sets of the current recipe (`SETS`), resized to the recognizer's 128x32 input and
  re-encoded as WebP (under half the bytes of JPEG at this size, where JPEG's own tables weigh most), one blob
  per set with its sizes beside it (a zip entry per crop would cost a quarter as much again). Unpacked, they are
  `rec/cased/<set>` and `rec/caseless/<set>` (for `--real` and `--real-caseless`) under their own stems, so the
  by-source validation split (`ocrpipe.splits`) does not move. The crops get what is left of the 64 MiB; a set too
  big for its share keeps whole source images (groups of `ocrpipe.splits.crop_group`) in a fixed hashed order, so
  the cut is the same on every run.

`scripts/device_round.sh` unpacks this on the GPU machine and runs `scripts/train_round.sh`; docs/TRAINING.md has the
one `run` command.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import NamedTuple

from PIL import Image

from ocrpipe.splits import crop_group
from ocrpipe.synth.fonts import discover_fonts, group_families

ROOT = Path(__file__).resolve().parent.parent
TRAVEL_LIMIT = 64 * 2**20  # bytes of working tree the device tool carries
MARGIN = 2 * 2**20  # left free: the zip's and tar's own overhead, a file or two added to the tree later
INPUT_SIZE = (128, 32)  # the recognizer's input (W, H): crops are resized to it before training anyway
WHEELS = ("open_clip_torch", "ftfy", "wcwidth", "shapely", "pyclipper")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


class CropSet(NamedTuple):
    name: str  # folder name in the zip
    source: Path  # a labels.tsv set
    caseless: bool  # trained with --real-caseless (SROIE is transcribed in capitals)


# The recognizer recipe's real sets (ocrpipe/weights/MODEL_CARD.md, v11/v12); data/ is made by the scripts named there.
SETS = (
    CropSet("iiit5k_train", ROOT.parent / "shared/data/rec/iiit5k_train", False),
    CropSet("ic15_train", ROOT.parent / "shared/data/rec/ic15_train", False),
    CropSet("svt_train", ROOT.parent / "shared/data/rec/svt_train", False),
    CropSet("funsd_words", ROOT / "data/funsd_words", False),
    CropSet("funsd_det_words", ROOT / "data/funsd_det_words", False),
    CropSet("sroie_train_words", ROOT / "data/sroie_train_words", True),
    CropSet("sroie_det_words", ROOT / "data/sroie_det_words", True),
)


class Crop(NamedTuple):
    stem: str
    text: str
    group: str
    data: bytes  # WebP


def tracked_bytes() -> int:
    """Bytes of the repository's tracked files as they are in the working tree (what travels besides ignored ones)."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
    return sum((ROOT / name.decode()).stat().st_size for name in names if name and (ROOT / name.decode()).is_file())


def download_wheels(folder: Path) -> None:
    """The packages the GPU machine lacks, at the versions installed here, for CPython 3.12 on x86-64 Linux."""
    from importlib.metadata import version

    folder.mkdir(parents=True, exist_ok=True)
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    pins = [f"{name}=={version(name)}" for name in WHEELS]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(folder), *pins],
                   check=True)


def pack_fonts(path: Path) -> int:
    """One font per superfamily (its Regular style when there is one), as fonts/<file name>; returns the count."""
    chosen = []
    for members in group_families(discover_fonts()).values():
        regular = [f for f in members if f.style.lower() in ("regular", "book", "roman", "normal")]
        chosen.append((regular or members)[0].path)
    with tarfile.open(path, "w:xz") as tar:
        for font in sorted(set(chosen)):
            tar.add(font, arcname=f"fonts/{Path(font).name}")
    return len(set(chosen))


def encode_set(crop_set: CropSet, quality: int) -> list[Crop]:
    """Every crop of the set at the model's input size, as WebP."""
    crops = []
    for line in (crop_set.source / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        relative, text = line.split("\t", 1)
        with Image.open(crop_set.source / relative) as image:
            small = image.convert("RGB").resize(INPUT_SIZE, Image.BICUBIC)
        buffer = io.BytesIO()
        small.save(buffer, "WEBP", quality=quality)
        crops.append(Crop(Path(relative).stem, text, crop_group(relative), buffer.getvalue()))
    return crops


def _hashed(key: str) -> bytes:
    return hashlib.sha1(f"pack:{key}".encode()).digest()  # salted: unrelated to the validation split's hash


def cut_to_cap(crops: list[Crop], cap: int) -> list[Crop]:
    """Whole source groups, in a fixed hashed order, while their bytes stay within `cap`."""
    groups: dict[str, list[Crop]] = {}
    for crop in crops:
        groups.setdefault(crop.group, []).append(crop)
    kept, total = [], 0
    for key in sorted(groups, key=_hashed):
        size = sum(len(c.data) for c in groups[key])
        if total + size > cap:
            break
        kept += groups[key]
        total += size
    return kept


def share_budget(set_bytes: list[int], budget: int) -> int:
    """The largest per-set cap with sum(min(bytes, cap)) <= budget: small sets whole, big ones cut to one level."""
    low, high = 0, max(set_bytes, default=0)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(b, middle) for b in set_bytes) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def write_crops(path: Path, sets: dict[CropSet, list[Crop]]) -> None:
    """Per set: labels.tsv (the paths the crops get when unpacked), sizes.txt and crops.bin (the WebPs end to end)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for crop_set, crops in sets.items():
            folder = f"rec/{'caseless' if crop_set.caseless else 'cased'}/{crop_set.name}"
            archive.writestr(f"{folder}/labels.tsv", "".join(f"images/{c.stem}.webp\t{c.text}\n" for c in crops))
            archive.writestr(f"{folder}/sizes.txt", "".join(f"{len(c.data)}\n" for c in crops))
            archive.writestr(f"{folder}/crops.bin", b"".join(c.data for c in crops), zipfile.ZIP_STORED)


def unpack_crops(path: Path, dest: Path) -> None:
    """The crop sets of `write_crops` as ordinary labels.tsv sets under `dest`."""
    with zipfile.ZipFile(path) as archive:
        for labels_name in (n for n in archive.namelist() if n.endswith("/labels.tsv")):
            folder = labels_name.rsplit("/", 1)[0]
            labels = archive.read(labels_name).decode("utf-8")
            sizes = [int(n) for n in archive.read(f"{folder}/sizes.txt").split()]
            blob = archive.read(f"{folder}/crops.bin")
            (dest / folder / "images").mkdir(parents=True, exist_ok=True)
            offset = 0
            for line, size in zip(labels.splitlines(), sizes, strict=True):
                (dest / folder / line.split("\t", 1)[0]).write_bytes(blob[offset:offset + size])
                offset += size
            (dest / folder / "labels.tsv").write_text(labels, encoding="utf-8")


def pack(out: Path, quality: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    download_wheels(out / "wheels")
    fonts = pack_fonts(out / "fonts.tar.xz")
    fixed = tracked_bytes() + sum(p.stat().st_size for p in (out / "wheels").iterdir()) \
        + (out / "fonts.tar.xz").stat().st_size
    budget = TRAVEL_LIMIT - MARGIN - fixed
    print(f"tracked files + wheels + {fonts} fonts: {fixed / 2**20:.1f} MiB; left for crops: {budget / 2**20:.1f} MiB")

    encoded = {s: encode_set(s, quality) for s in SETS}
    cap = share_budget([sum(len(c.data) for c in crops) for crops in encoded.values()], budget)
    kept = {s: cut_to_cap(crops, cap) for s, crops in encoded.items()}
    write_crops(out / "crops.zip", kept)
    for crop_set in SETS:
        print(f"  {crop_set.name}: {len(kept[crop_set])} of {len(encoded[crop_set])} crops"
              f"{' (case-free)' if crop_set.caseless else ''}")
    total = fixed + (out / "crops.zip").stat().st_size
    print(f"what travels: {total / 2**20:.1f} MiB of {TRAVEL_LIMIT / 2**20:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pack_parser = commands.add_parser("pack", help="here: write OUT_DIR/{crops.zip,fonts.tar.xz,wheels/}")
    pack_parser.add_argument("out_dir", type=Path, help="an ignored folder inside the repository (it travels)")
    pack_parser.add_argument("--quality", type=int, default=80, help="WebP quality of the crops")
    unpack_parser = commands.add_parser("unpack", help="there: crops.zip -> DEST/rec/{cased,caseless}/<set>")
    unpack_parser.add_argument("zip", type=Path)
    unpack_parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.out_dir, args.quality)
    else:
        unpack_crops(args.zip, args.dest)


if __name__ == "__main__":
    main()
