#!/usr/bin/env bash
# One fixed-time recognizer round: the shipped recognizer fine-tuned for SECONDS of wall clock (its learning-rate
# schedule spans that time) with the current recipe (ocrpipe/weights/MODEL_CARD.md, v11/v12) scaled to a GPU: batch
# 256 instead of 64, twice the learning rate, many data workers.
#
#   scripts/train_round.sh DATA OUT SECONDS [DEVICE]
#
# DATA holds rec/cased/<set> and rec/caseless/<set> (labels.tsv crop sets, trained with --real and --real-caseless)
# and fonts/, as scripts/pack_round.py packs them. Result: OUT/rec (model.pt, log.jsonl) and OUT/rec.log.
# Environment: OCRPIPE (the command, default "ocrpipe"), REC_WORKERS (default 12), BATCH (256), LR (2e-4), SEED (7).
#
# The detector is not trained here: the shipped one is fine-tuned on line canvases of ../shared's page sets
# (docs/TRAINING.md), and reading, not finding, is what limits the end-to-end numbers now.
set -euo pipefail
data=$1 out=$2 seconds=$3 device=${4:-auto}
ocrpipe=${OCRPIPE:-ocrpipe}
mkdir -p "$out"

real=()
for set in "$data"/rec/cased/*/; do real+=(--real "$set"); done
for set in "$data"/rec/caseless/*/; do real+=(--real-caseless "$set"); done

# Data workers render synthetic words on one core each: keep their numpy/OpenMP pools from oversubscribing.
# shellcheck disable=SC2086  # $ocrpipe may be a command with arguments
OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE $ocrpipe train rec "$out/rec" --init ocrpipe/weights/clip4str-tiny.pt \
    --font-dir "$data/fonts" "${real[@]}" --real-size-power 0.3 --synth-fraction 0.4 --perms 2 --ctc-weight 1 \
    --batch-size "${BATCH:-256}" --lr "${LR:-2e-4}" --ema 0.999 --steps 1000000 --time-limit "$seconds" \
    --val-every 1000 --workers "${REC_WORKERS:-12}" --threads 2 --device "$device" --seed "${SEED:-7}" \
    > "$out/rec.log" 2>&1 || { tail -n 20 "$out/rec.log"; exit 1; }
tail -n 3 "$out/rec.log"
