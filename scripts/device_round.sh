#!/usr/bin/env bash
# The recognizer round on the lent GPU machine, from the repository root there, with what scripts/pack_round.py
# packed into ROUND (an ignored folder that travels with the repository):
#
#   scripts/device_round.sh ROUND SECONDS OUT
#
# Installs the carried wheels into /tmp/site (the machine's python3 holds torch; ocrpipe runs from the checkout),
# unpacks the crops and fonts into /tmp/round, runs scripts/train_round.sh for SECONDS on CUDA and leaves in OUT the
# weights in parts of 15 MiB (the tool brings back files of at most 16 MiB: `cat model.pt.part-* > model.pt` here),
# the trainer's log.jsonl and its console log.
set -euo pipefail
round=$(realpath "$1") seconds=$2 out=$3
site=/tmp/site work=/tmp/round

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$round"/wheels/*.whl
export PYTHONPATH=$site:$PWD PYTHONUNBUFFERED=1

mkdir -p "$work"
python3 scripts/pack_round.py unpack "$round/crops.zip" "$work"
tar -xJf "$round/fonts.tar.xz" -C "$work"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

status=0
OCRPIPE="python3 -m ocrpipe" scripts/train_round.sh "$work" "$work/out" "$seconds" cuda || status=$?
cp "$work/out/rec.log" "$out/" 2>/dev/null || true
cp "$work/out/rec/log.jsonl" "$out/" 2>/dev/null || true
if [[ -f $work/out/rec/model.pt ]]; then
    split -b 15M -d "$work/out/rec/model.pt" "$out/model.pt.part-"
    sha256sum "$work/out/rec/model.pt" | cut -d' ' -f1 > "$out/model.pt.sha256"
fi
exit $status
